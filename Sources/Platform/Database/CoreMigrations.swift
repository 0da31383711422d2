/// The platform's schema, in order: one literal migration per file in `Migrations/`
/// (`M<version><Name>Migration.swift`), never edited once released (MigrationChecksumTests).
/// The admin API's migration (10) lives with it in Tenancy.
public enum CoreMigrations {
    public static let all: [Migration] = [
        tenancyAndAuth, recordEngine, fieldIndexTables, organisation, sharingRulesAndDimension, savedViews, planLimits,
        moduleSetUp, approvals, tenantVersions, listIndexes, searchTokens, importStatistics, notifications,
        loginAttemptsByAddress, attachments, tenantStorageLimit, outbox, webhooks, scheduler, notificationRobots, automation, sms, loginRanges, notificationDigest,
        twoFactor, reports, recordPools, recordComments,
    ]
}
