extension CoreMigrations {
    /// Per-tenant limits (from the plan's defaults at creation, changeable by an operator) and
    /// the end of a trial. Existing tenants get their plan's defaults.
    static let planLimits = Migration(
        version: 7,
        name: "plan_limits",
        statements: [
            "ALTER TABLE tenants ADD COLUMN max_users int CHECK (max_users > 0), ADD COLUMN max_records int CHECK (max_records > 0), ADD COLUMN trial_ends_at timestamptz",
        ] + PlanLimits.defaults.sorted { $0.key < $1.key }.map { plan, limits in
            "UPDATE tenants SET max_users = \(limits.maxUsers.map(String.init) ?? "NULL"), max_records = \(limits.maxRecords.map(String.init) ?? "NULL")"
                + (limits.trialDays.map { ", trial_ends_at = created_at + interval '\($0) days'" } ?? "") + " WHERE plan = '\(plan)'"
        }
    )
}
