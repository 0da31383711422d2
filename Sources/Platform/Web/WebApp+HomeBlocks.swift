import Foundation
import Hummingbird

extension WebApp {
    /// The HTML of the home-page blocks (``HomeBlock``) of the tenant's enabled modules, in
    /// the catalog's order, each rendered as the signed-in user in one tenant transaction.
    public func homeBlocks(_ request: Request, _ context: AtriumContext) async throws -> [String] {
        let modules = services.catalog.modules.filter { !$0.homeBlocks.isEmpty }
        guard !modules.isEmpty else { return [] }
        return try await page(request, context) { page, db in
            let enabled = Set(try await TenantModules.enabled(on: db.connection, logger: db.logger))
            var blocks: [String] = []
            for manifest in modules where enabled.contains(manifest.id) {
                for block in manifest.homeBlocks {
                    if let html = try await block.render(page: page, db: db, web: self) { blocks.append(html) }
                }
            }
            return blocks
        }
    }
}
