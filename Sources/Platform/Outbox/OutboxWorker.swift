import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Delivers the outbox: finds tenants with due items, claims a batch in each tenant's own RLS
/// context, hands the items to their channels concurrently (outside any transaction) and
/// records each outcome. Runs as a service of the server; every app node may run one, since a
/// claim skips what another worker holds.
///
/// ```swift
/// let worker = OutboxWorker(database: database, channels: [EmailChannel(…)], logger: logger)
/// Application(router: router, services: [database.client, worker])
/// ```
public struct OutboxWorker: Service {
    public struct Configuration: Sendable {
        /// How long the worker rests when nothing was due.
        public var pollInterval: Duration = .seconds(1)
        /// Items claimed per tenant and round.
        public var batchSize = 20
        /// Tenants served per round.
        public var tenantsPerRound = 50
        /// Serve only these tenants (tests running side by side on one database; nil: all).
        public var onlyTenants: Set<UUID>?
        /// How long a claim holds an item: a worker that died gives it up after this.
        public var lease: Duration = .seconds(300)
        public var backoff = OutboxBackoff()
        /// Delivered and failed items are kept this long, for the delivery log.
        public var retention: Duration = .seconds(30 * 24 * 3600)

        public init() {}
    }

    let database: Database
    let channels: [String: any OutboxChannel]
    let configuration: Configuration
    let logger: Logger

    public init(database: Database, channels: [any OutboxChannel], configuration: Configuration = Configuration(), logger: Logger) {
        self.database = database
        self.channels = Dictionary(channels.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var delivered = 0
                do {
                    delivered = try await runOnce()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("outbox round failed", metadata: ["error": "\(DatabaseErrors.describe(error))"])
                }
                if delivered == 0 { try await Task.sleep(for: configuration.pollInterval) }
            }
        }
    }

    /// One round over the due tenants; returns how many items were handed to a channel.
    @discardableResult
    public func runOnce() async throws -> Int {
        let tenants = try await database.withTransaction(logger: logger) { [configuration, logger] connection in
            try await Outbox.dueTenants(limit: configuration.tenantsPerRound, on: connection, logger: logger)
        }
        var handled = 0
        for tenant in tenants where configuration.onlyTenants?.contains(tenant) ?? true {
            let items = try await claim(tenant: tenant)
            handled += items.count
            try await record(await deliver(items, tenant: tenant), tenant: tenant)
        }
        return handled
    }

    /// Claims a batch of `tenant`'s due items (and prunes its old ones).
    func claim(tenant: UUID) async throws -> [OutboxItem] {
        let names = channels.keys.sorted()
        return try await database.withTenant(tenant, logger: logger) { [configuration, logger] connection in
            try await Outbox.prune(olderThan: configuration.retention, on: connection, logger: logger)
            return try await Outbox.claim(limit: configuration.batchSize, lease: configuration.lease, channels: names,
                                          on: connection, logger: logger)
        }
    }

    /// Hands each item to its channel, all at once; a channel never throws, it reports.
    func deliver(_ items: [OutboxItem], tenant: UUID) async -> [(OutboxItem, DeliveryOutcome)] {
        await withTaskGroup(of: (OutboxItem, DeliveryOutcome).self) { group in
            for item in items {
                let channel = channels[item.channel]
                group.addTask {
                    guard let channel else { return (item, .failed("no channel \(item.channel) on this server", retry: true)) }
                    return (item, await channel.deliver(item, tenant: tenant))
                }
            }
            var outcomes: [(OutboxItem, DeliveryOutcome)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
    }

    func record(_ outcomes: [(OutboxItem, DeliveryOutcome)], tenant: UUID) async throws {
        guard !outcomes.isEmpty else { return }
        for (item, outcome) in outcomes {
            if case .failed(let reason, _) = outcome {
                logger.notice("outbox delivery failed", metadata: ["channel": "\(item.channel)", "item": "\(item.id)",
                                                                   "attempt": "\(item.attempt)", "reason": "\(reason)"])
            }
        }
        try await database.withTenant(tenant, logger: logger) { [configuration, logger] connection in
            for (item, outcome) in outcomes {
                try await Outbox.record(outcome, of: item, backoff: configuration.backoff, on: connection, logger: logger)
            }
        }
    }
}
