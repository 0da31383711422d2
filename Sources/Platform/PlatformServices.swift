import Foundation
import Logging

/// The shared kernel a host wires once and hands to every route group and module.
public struct PlatformServices: Sendable {
    public let configuration: AtriumConfiguration
    public let database: Database
    public let renderer: WebRenderer
    public let catalog: ModuleCatalog
    public let hasher: PasswordHasher
    public let signIn: SignIn
    /// Where attachments' bytes live (the local store under `ATRIUM_FILES_DIR` by default).
    public let files: any FileStore
    /// Access contexts of recent callers, by tenant organisation stamp (one per app node).
    public let accessCache = AccessCache(capacity: 20_000)

    public init(configuration: AtriumConfiguration, database: Database, renderer: WebRenderer, catalog: ModuleCatalog,
                files: (any FileStore)? = nil) throws {
        self.configuration = configuration
        self.files = files ?? LocalFileStore(path: configuration.filesDirectory)
        self.database = database
        self.renderer = renderer
        self.catalog = catalog
        self.hasher = configuration.passwordHashing
        self.signIn = try SignIn(database: database, hasher: configuration.passwordHashing,
                                 throttle: LoginThrottle(policy: configuration.loginThrottle),
                                 sessionLifetime: configuration.sessionLifetime,
                                 secretBox: TwoFactorSecretBox(key: configuration.secretKey))
    }
}
