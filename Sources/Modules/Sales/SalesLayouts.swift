import Platform

/// The record pages of the sales entities as TurboCRM and Renwoxing users know them: who the
/// customer is first, then how to reach them, then what else is on file. Tenants rearrange
/// them in the designer; fields these sections do not name (a tenant's own) follow in a last
/// section.
enum SalesLayouts {
    static let all: [ModuleLayout] = [
        ModuleLayout(entity: "account", sections: [
            LayoutSection(titles: ["en": "Customer", "zh-CN": "客户信息"],
                          fields: ["name", "account_type", "lifecycle", "level", "industry", "region", "parent"]),
            LayoutSection(titles: ["en": "Contact details", "zh-CN": "联系方式"], fields: ["phone", "website", "address"]),
            LayoutSection(titles: ["en": "Invoicing and notes", "zh-CN": "开票与备注"], columns: 1, fields: ["tax_id", "notes"]),
        ]),
        ModuleLayout(entity: "lead", sections: [
            LayoutSection(titles: ["en": "Lead", "zh-CN": "线索信息"], fields: ["name", "company", "title", "source", "status", "pool"]),
            LayoutSection(titles: ["en": "Contact details", "zh-CN": "联系方式"], fields: ["phone", "email", "notes"]),
            LayoutSection(titles: ["en": "Conversion", "zh-CN": "转化结果"],
                          fields: ["converted_account", "converted_contact", "converted_opportunity", "converted_at"]),
        ]),
        ModuleLayout(entity: "opportunity", sections: [
            LayoutSection(titles: ["en": "Opportunity", "zh-CN": "商机信息"],
                          fields: ["name", "account", "contact", "amount", "close_date", "stage", "probability", "weighted_amount"]),
            LayoutSection(titles: ["en": "Progress", "zh-CN": "跟进进展"],
                          fields: ["next_step", "stage_changed_at", "source", "competitors", "lost_reason", "lead"]),
        ]),
    ]
}
