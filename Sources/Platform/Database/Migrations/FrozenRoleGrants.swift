/// The default roles' grants as migrations 4 and 9 wrote them, frozen: a migration is a
/// snapshot and its checksum must never change (MigrationChecksumTests), while the roles a new
/// tenant gets now come from the platform's role list plus each module manifest's
/// `defaultGrants` (provisioning and module set-up).
enum FrozenRoleGrants {
    /// Migration 4: the default roles for every tenant that existed then.
    static let migration4 =
        #"""
        INSERT INTO roles (tenant_id, key, labels, grants, is_system)
        SELECT t.id, v.key, v.labels, v.grants, true FROM tenants t CROSS JOIN (VALUES
            ('administrator', '{"en":"Administrator","zh-CN":"系统管理员"}'::jsonb, '{"custom":{"create":"all","delete":"all","export":"all","read":"all","share":"all","update":"all"},"module:expenses":{"create":"all","delete":"all","export":"all","read":"all","share":"all","update":"all"},"module:knowledge":{"create":"all","delete":"all","export":"all","read":"all","share":"all","update":"all"},"module:marketing":{"create":"all","delete":"all","export":"all","read":"all","share":"all","update":"all"},"module:purchasing":{"create":"all","delete":"all","export":"all","read":"all","share":"all","update":"all"},"module:sales":{"create":"all","delete":"all","export":"all","read":"all","share":"all","update":"all"},"module:service":{"create":"all","delete":"all","export":"all","read":"all","share":"all","update":"all"}}'::jsonb),
            ('sales_director', '{"en":"Sales Director","zh-CN":"销售总监"}'::jsonb, '{"custom":{"create":"all","delete":"all","export":"all","read":"all","share":"all","update":"all"},"module:knowledge":{"export":"all","read":"all"},"module:marketing":{"create":"all","delete":"all","export":"all","read":"all","share":"all","update":"all"},"module:sales":{"approve":"all","create":"all","delete":"all","export":"all","import":"all","read":"all","share":"all","update":"all"}}'::jsonb),
            ('sales_manager', '{"en":"Sales Manager","zh-CN":"销售经理"}'::jsonb, '{"custom":{"create":"all","delete":"department_tree","export":"department_tree","read":"department_tree","share":"department_tree","update":"department_tree"},"module:knowledge":{"export":"all","read":"all"},"module:marketing":{"create":"all","delete":"department_tree","export":"department_tree","read":"department_tree","share":"department_tree","update":"department_tree"},"module:sales":{"approve":"department_tree","create":"all","delete":"department_tree","export":"department_tree","read":"department_tree","share":"department_tree","update":"department_tree"}}'::jsonb),
            ('salesperson', '{"en":"Salesperson","zh-CN":"销售员"}'::jsonb, '{"custom":{"create":"all","delete":"own","export":"own","read":"own","share":"own","update":"own"},"module:knowledge":{"export":"all","read":"all"},"module:marketing":{"read":"all"},"module:sales":{"create":"all","delete":"own","export":"own","read":"own","share":"own","update":"own"}}'::jsonb),
            ('service_agent', '{"en":"Service Agent","zh-CN":"客服"}'::jsonb, '{"custom":{"create":"all","delete":"own","export":"own","read":"own","share":"own","update":"own"},"module:knowledge":{"create":"all","delete":"all","export":"all","read":"all","share":"all","update":"all"},"module:sales":{"read":"all"},"module:service":{"create":"all","delete":"own","export":"own","read":"own","share":"own","update":"own"}}'::jsonb),
            ('purchaser', '{"en":"Purchaser","zh-CN":"采购员"}'::jsonb, '{"custom":{"create":"all","delete":"own","export":"own","read":"own","share":"own","update":"own"},"module:knowledge":{"export":"all","read":"all"},"module:purchasing":{"create":"all","delete":"own","export":"own","read":"own","share":"own","update":"own"}}'::jsonb),
            ('finance', '{"en":"Finance","zh-CN":"财务"}'::jsonb, '{"custom":{"export":"all","read":"all"},"module:expenses":{"approve":"all","export":"all","read":"all","update":"all"},"module:knowledge":{"export":"all","read":"all"},"module:purchasing":{"export":"all","read":"all"},"module:sales":{"export":"all","read":"all"}}'::jsonb),
            ('read_only', '{"en":"Read-only","zh-CN":"只读"}'::jsonb, '{"custom":{"read":"all"},"module:expenses":{"read":"all"},"module:knowledge":{"read":"all"},"module:marketing":{"read":"all"},"module:purchasing":{"read":"all"},"module:sales":{"read":"all"},"module:service":{"read":"all"}}'::jsonb)) AS v (key, labels, grants)
        WHERE true
        ON CONFLICT (tenant_id, key) DO NOTHING
        """#

    /// Migration 9: the expense rights merged into existing tenants' default roles.
    static let migration9: [String] = [
        #"""
        UPDATE roles SET grants = grants || jsonb_build_object('module:expenses', '{"approve":"all","create":"all","delete":"own","export":"all","read":"all","share":"own","update":"all"}'::jsonb || coalesce(grants->'module:expenses', '{}'::jsonb)) WHERE is_system AND key = 'finance'
        """#,
        #"""
        UPDATE roles SET grants = grants || jsonb_build_object('module:expenses', '{"create":"all","delete":"own","export":"own","read":"own","share":"own","update":"own"}'::jsonb || coalesce(grants->'module:expenses', '{}'::jsonb)) WHERE is_system AND key = 'purchaser'
        """#,
        #"""
        UPDATE roles SET grants = grants || jsonb_build_object('module:expenses', '{"create":"all","delete":"all","export":"all","read":"all","share":"all","update":"all"}'::jsonb || coalesce(grants->'module:expenses', '{}'::jsonb)) WHERE is_system AND key = 'sales_director'
        """#,
        #"""
        UPDATE roles SET grants = grants || jsonb_build_object('module:expenses', '{"create":"all","delete":"own","export":"department_tree","read":"department_tree","share":"department_tree","update":"own"}'::jsonb || coalesce(grants->'module:expenses', '{}'::jsonb)) WHERE is_system AND key = 'sales_manager'
        """#,
        #"""
        UPDATE roles SET grants = grants || jsonb_build_object('module:expenses', '{"create":"all","delete":"own","export":"own","read":"own","share":"own","update":"own"}'::jsonb || coalesce(grants->'module:expenses', '{}'::jsonb)) WHERE is_system AND key = 'salesperson'
        """#,
        #"""
        UPDATE roles SET grants = grants || jsonb_build_object('module:expenses', '{"create":"all","delete":"own","export":"own","read":"own","share":"own","update":"own"}'::jsonb || coalesce(grants->'module:expenses', '{}'::jsonb)) WHERE is_system AND key = 'service_agent'
        """#,
    ]
}
