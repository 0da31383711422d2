extension CoreMigrations {
    /// The approval workflow engine: processes as data per entity, one instance per submission
    /// with a task per approver and step, out-of-office delegations, department heads (an
    /// approver kind), and expense rights for the default working roles of existing tenants.
    static let approvals = Migration(
        version: 9,
        name: "approvals",
        statements: [
            // No foreign key: users already reference departments, and tenant deletion empties
            // tables children-first by their keys (a cycle would stop it); the API checks the id.
            "ALTER TABLE departments ADD COLUMN head_id uuid",
            """
            CREATE TABLE approval_processes (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                entity text NOT NULL,
                name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
                priority int NOT NULL DEFAULT 100,
                condition jsonb,
                steps jsonb NOT NULL CHECK (jsonb_typeof(steps) = 'array'),
                cc jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(cc) = 'array'),
                active boolean NOT NULL DEFAULT true,
                version int NOT NULL DEFAULT 1,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id)
            )
            """,
            "CREATE INDEX approval_processes_by_entity ON approval_processes (tenant_id, entity, priority)",
            """
            CREATE TABLE approval_instances (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                entity text NOT NULL,
                record_id uuid NOT NULL,
                process_id uuid NOT NULL,
                process_name text NOT NULL,
                status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'returned', 'withdrawn')),
                current_step int,
                path jsonb NOT NULL DEFAULT '[]',
                cc uuid[] NOT NULL DEFAULT '{}',
                comment text CHECK (length(comment) <= 2000),
                submitted_by uuid NOT NULL,
                submitted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                finished_at timestamptz,
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id) ON DELETE CASCADE,
                FOREIGN KEY (tenant_id, process_id) REFERENCES approval_processes (tenant_id, id),
                FOREIGN KEY (tenant_id, submitted_by) REFERENCES users (tenant_id, id)
            )
            """,
            // At most one running approval per record: a second submit fails on this index.
            "CREATE UNIQUE INDEX approval_one_pending ON approval_instances (tenant_id, record_id) WHERE status = 'pending'",
            "CREATE INDEX approval_instances_by_record ON approval_instances (tenant_id, record_id, submitted_at)",
            "CREATE INDEX approval_instances_by_submitter ON approval_instances (tenant_id, submitted_by, submitted_at)",
            "CREATE INDEX approval_instances_cc ON approval_instances USING gin (cc)",
            """
            CREATE TABLE approval_tasks (
                tenant_id uuid NOT NULL,
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                instance_id uuid NOT NULL,
                step int NOT NULL CHECK (step >= 0),
                approver_id uuid NOT NULL,
                status text NOT NULL CHECK (status IN ('waiting', 'pending', 'approved', 'rejected', 'returned', 'skipped', 'cancelled')),
                decided_by uuid,
                comment text CHECK (length(comment) <= 2000),
                activated_at timestamptz,
                decided_at timestamptz,
                PRIMARY KEY (tenant_id, id),
                UNIQUE (tenant_id, instance_id, step, approver_id),
                FOREIGN KEY (tenant_id, instance_id) REFERENCES approval_instances (tenant_id, id) ON DELETE CASCADE,
                FOREIGN KEY (tenant_id, approver_id) REFERENCES users (tenant_id, id),
                FOREIGN KEY (tenant_id, decided_by) REFERENCES users (tenant_id, id)
            )
            """,
            "CREATE INDEX approval_tasks_open ON approval_tasks (tenant_id, approver_id) WHERE status = 'pending'",
            """
            CREATE TABLE approval_delegations (
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                user_id uuid NOT NULL,
                delegate_id uuid NOT NULL,
                starts_on date NOT NULL,
                ends_on date NOT NULL,
                created_by uuid NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, id),
                CHECK (ends_on >= starts_on),
                CHECK (user_id <> delegate_id),
                FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
                FOREIGN KEY (tenant_id, delegate_id) REFERENCES users (tenant_id, id)
            )
            """,
            "CREATE INDEX approval_delegations_by_user ON approval_delegations (tenant_id, user_id)",
            "CREATE INDEX approval_delegations_by_delegate ON approval_delegations (tenant_id, delegate_id)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON approval_processes, approval_instances, approval_tasks, approval_delegations TO {{app_role}}",
        ] + FrozenRoleGrants.migration9
            + ["approval_processes", "approval_instances", "approval_tasks", "approval_delegations"].flatMap(TenantTable.isolate)
    )
}
