import Foundation
import Platform

/// The marketing module's entities (市场活动、市场计划、客户细分、邮件群发、网站表单、竞争对手),
/// declared as metadata on the shared record engine. Fields marked `computed` are filled in by
/// ``MarketingRules`` (actual cost, a member's name and e-mail, the lead a response became) and
/// are read-only to every caller.
enum MarketingEntities: EntityDeclarations {
    static let campaignTypes = options([("trade_show", "Trade show", "展会"), ("seminar", "Seminar", "研讨会"), ("promotion", "Promotion", "促销活动"),
                                        ("online", "Online", "线上推广"), ("telemarketing", "Telemarketing", "电话营销"),
                                        ("mass_mailing", "Mass mailing", "邮件群发"), ("other", "Other", "其他")])
    static let campaignStatuses = options([("planned", "Planned", "计划中"), ("active", "Active", "进行中"), ("completed", "Completed", "已完成"),
                                           ("cancelled", "Cancelled", "已取消")])
    static let memberStatuses = options([("planned", "Not contacted yet", "未联系"), ("sent", "Sent", "已发送"), ("responded", "Responded", "已响应"),
                                         ("registered", "Registered", "已报名"), ("attended", "Attended", "已参加"), ("converted", "Converted", "已转化")])
    static let responseKinds = options([("replied", "Replied", "回复"), ("registered", "Registered", "报名"), ("attended", "Attended", "到场"),
                                        ("downloaded", "Downloaded material", "下载资料"), ("web_form", "Web form", "网站表单"), ("other", "Other", "其他")])
    static let segmentTargets = options([("contact", "Contacts", "联系人"), ("lead", "Leads", "线索"), ("account", "Accounts (their contacts)", "客户（其联系人）")])
    static let formFields = options([("name", "Name", "姓名"), ("company", "Company", "公司"), ("email", "Email", "邮箱"), ("phone", "Phone", "电话"),
                                     ("title", "Job title", "职务"), ("notes", "Message", "留言")])

    static let plan = EntityDefinition(key: "marketing_plan", labels: ["en": "Marketing plan", "zh-CN": "市场计划"], fields: [
        field("name", "Plan", "计划名称", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 200 },
        field("starts_on", "From", "开始日期", .date) { $0.required = true; $0.filterable = true },
        field("ends_on", "Until", "结束日期", .date) { $0.required = true; $0.filterable = true },
        money("total_budget", "Total budget", "总预算", computed: true),
        field("goals", "Goals", "目标", .longText),
    ], titleField: "name", listColumns: ["name", "starts_on", "ends_on", "total_budget", "owner_id"], defaultSort: "-starts_on")

    static let planBudget = EntityDefinition(key: "marketing_plan_budget", labels: ["en": "Plan budget line", "zh-CN": "计划预算明细"], fields: [
        field("plan", "Plan", "市场计划", .lookup) { $0.target = "marketing_plan"; $0.required = true; $0.filterable = true },
        field("campaign_type", "Campaign type", "活动类型", .picklist) { $0.options = campaignTypes; $0.required = true; $0.filterable = true },
        money("budget", "Budget", "预算", required: true),
        field("note", "Note", "说明", .text) { $0.maxLength = 400 },
    ], titleField: "campaign_type", listColumns: ["plan", "campaign_type", "budget", "note"], defaultSort: "campaign_type")

    static let campaign = EntityDefinition(key: "campaign", labels: ["en": "Campaign", "zh-CN": "市场活动"], fields: [
        field("number", "Number", "编号", .autoNumber) { $0.format = "MC-{YYYY}-{seq:4}"; $0.searchable = true },
        field("name", "Campaign", "活动名称", .text) { $0.required = true; $0.searchable = true; $0.filterable = true; $0.maxLength = 200 },
        field("campaign_type", "Type", "活动类型", .picklist) { $0.options = campaignTypes; $0.required = true; $0.filterable = true },
        field("status", "Status", "状态", .picklist) { $0.options = campaignStatuses; $0.defaultValue = .string("planned"); $0.filterable = true },
        field("start_date", "Start", "开始日期", .date) { $0.filterable = true },
        field("end_date", "End", "结束日期", .date) { $0.filterable = true },
        field("parent", "Parent campaign", "上级活动", .lookup) { $0.target = "campaign"; $0.filterable = true },
        field("plan", "Marketing plan", "市场计划", .lookup) { $0.target = "marketing_plan"; $0.filterable = true },
        money("budget", "Budget", "预算"),
        money("planned_cost", "Planned cost", "计划成本"),
        money("actual_cost", "Actual cost", "实际成本", computed: true, filterable: true),
        money("expected_revenue", "Expected revenue", "预期收入"),
        field("audience", "Target audience", "目标受众", .text) { $0.maxLength = 400 },
        field("location", "Location", "地点", .text) { $0.maxLength = 200 },
        field("content", "Content", "活动内容", .longText) { $0.searchable = true },
    ], titleField: "name", listColumns: ["number", "name", "campaign_type", "status", "start_date", "end_date", "actual_cost", "owner_id"],
       defaultSort: "-start_date")

    static let cost = EntityDefinition(key: "campaign_cost", labels: ["en": "Campaign cost", "zh-CN": "活动费用"], fields: [
        field("campaign", "Campaign", "市场活动", .lookup) { $0.target = "campaign"; $0.required = true; $0.filterable = true },
        field("description", "Description", "费用说明", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 200 },
        field("category", "Category", "费用类别", .picklist) {
            $0.options = options([("venue", "Venue and booth", "场地与展位"), ("printing", "Printing and gifts", "印刷与礼品"), ("advertising", "Advertising", "广告投放"),
                                  ("travel", "Travel", "差旅"), ("catering", "Catering", "餐饮"), ("other", "Other", "其他")])
            $0.filterable = true
        },
        field("incurred_on", "Date", "发生日期", .date) { $0.filterable = true },
        field("amount", "Amount", "金额", .money) { $0.required = true; $0.min = 0 },
    ], titleField: "description", listColumns: ["campaign", "description", "category", "incurred_on", "amount"], defaultSort: "-incurred_on")

    static let member = EntityDefinition(key: "campaign_member", labels: ["en": "Campaign member", "zh-CN": "活动成员"], fields: [
        field("campaign", "Campaign", "市场活动", .lookup) { $0.target = "campaign"; $0.required = true; $0.filterable = true },
        field("contact", "Contact", "联系人", .lookup) { $0.target = "contact"; $0.filterable = true },
        field("lead", "Lead", "线索", .lookup) { $0.target = "lead"; $0.filterable = true },
        field("name", "Name", "姓名", .text) { $0.computed = true; $0.searchable = true },
        field("email", "Email", "邮箱", .email) { $0.computed = true; $0.searchable = true },
        field("status", "Status", "状态", .picklist) { $0.options = memberStatuses; $0.defaultValue = .string("planned"); $0.filterable = true },
    ], titleField: "name", listColumns: ["campaign", "name", "email", "status", "contact", "lead"], defaultSort: "-created_at")

    static let response = EntityDefinition(key: "campaign_response", labels: ["en": "Campaign response", "zh-CN": "活动响应"], fields: [
        field("campaign", "Campaign", "市场活动", .lookup) { $0.target = "campaign"; $0.required = true; $0.filterable = true },
        field("kind", "Response", "响应类型", .picklist) { $0.options = responseKinds; $0.defaultValue = .string("replied"); $0.filterable = true },
        field("contact", "Contact", "联系人", .lookup) { $0.target = "contact"; $0.filterable = true },
        field("member", "Campaign member", "活动成员", .lookup) { $0.target = "campaign_member"; $0.filterable = true },
        field("name", "Name", "姓名", .text) { $0.searchable = true; $0.maxLength = 200 },
        field("company", "Company", "公司", .text) { $0.maxLength = 200 },
        field("email", "Email", "邮箱", .email) { $0.searchable = true },
        field("phone", "Phone", "电话", .phone),
        field("title", "Job title", "职务", .text) { $0.maxLength = 200 },
        field("notes", "Notes", "备注", .longText) { $0.maxLength = 4000 },
        field("lead", "Lead", "线索", .lookup) { $0.target = "lead"; $0.computed = true; $0.filterable = true },
        field("merged", "Merged into an existing lead", "合并到已有线索", .boolean) { $0.computed = true },
    ], titleField: "name", listColumns: ["campaign", "kind", "name", "company", "email", "lead", "created_at"], defaultSort: "-created_at")

    static let segment = EntityDefinition(key: "segment", labels: ["en": "Segment", "zh-CN": "客户细分"], fields: [
        field("name", "Segment", "细分名称", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 200 },
        field("target", "Records", "对象", .picklist) { $0.options = segmentTargets; $0.required = true; $0.defaultValue = .string("contact") },
        field("filter", "Filter (filter language, JSON)", "筛选条件（JSON）", .longText) { $0.required = true; $0.maxLength = 8000 },
        field("description", "Description", "说明", .text) { $0.maxLength = 400 },
    ], titleField: "name", listColumns: ["name", "target", "description", "owner_id"], defaultSort: "name")

    static let template = EntityDefinition(key: "email_template", labels: ["en": "E-mail template", "zh-CN": "邮件模板"], fields: [
        field("name", "Template", "模板名称", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 200 },
        field("subject", "Subject", "主题", .text) { $0.required = true; $0.maxLength = 300 },
        field("body", "Body (plain text; {{contact.name}} …)", "正文（纯文本，可用 {{contact.name}} 等）", .longText) { $0.required = true; $0.maxLength = 50000 },
    ], titleField: "name", listColumns: ["name", "subject", "owner_id"], defaultSort: "name")

    static let mailing = EntityDefinition(key: "mass_mail", labels: ["en": "Mass e-mail", "zh-CN": "邮件群发"], fields: [
        field("name", "Mailing", "群发名称", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 200 },
        field("campaign", "Campaign", "市场活动", .lookup) { $0.target = "campaign"; $0.required = true; $0.filterable = true },
        field("template", "Template", "邮件模板", .lookup) { $0.target = "email_template"; $0.required = true },
        field("segment", "Segment (instead of the members)", "客户细分（代替活动成员）", .lookup) { $0.target = "segment" },
        field("per_minute", "Send at most … per minute (empty: no limit)", "每分钟最多发送（空：不限）", .number) { $0.scale = 0; $0.min = 1; $0.max = 100_000 },
        field("status", "Status", "状态", .picklist) {
            $0.options = options([("draft", "Draft", "草稿"), ("sent", "Sent", "已发送")]); $0.defaultValue = .string("draft"); $0.computed = true; $0.filterable = true
        },
        field("sent_at", "Sent at", "发送时间", .datetime) { $0.computed = true },
        field("recipients", "Recipients", "收件人数", .number) { $0.scale = 0; $0.computed = true },
        field("suppressed", "Skipped (unsubscribed or no e-mail)", "跳过（已退订或无邮箱）", .number) { $0.scale = 0; $0.computed = true },
    ], titleField: "name", listColumns: ["name", "campaign", "template", "status", "sent_at", "recipients"], defaultSort: "-created_at")

    static let webForm = EntityDefinition(key: "web_form", labels: ["en": "Web-to-lead form", "zh-CN": "网站线索表单"], fields: [
        field("name", "Form title", "表单标题", .text) { $0.required = true; $0.maxLength = 200 },
        field("campaign", "Campaign", "市场活动", .lookup) { $0.target = "campaign"; $0.required = true; $0.filterable = true },
        field("fields", "Fields on the form", "表单字段", .multiPicklist) { $0.options = formFields; $0.required = true },
        field("thank_you", "Thank-you text", "提交后提示", .text) { $0.maxLength = 400 },
        field("active", "Accepting submissions", "接受提交", .boolean) { $0.defaultValue = .bool(true) },
        field("form_key", "Form key (in the public address)", "表单标识", .text) { $0.computed = true; $0.unique = true; $0.filterable = true },
    ], titleField: "name", listColumns: ["name", "campaign", "active", "form_key"], defaultSort: "name")

    static let competitor = EntityDefinition(key: "competitor", labels: ["en": "Competitor", "zh-CN": "竞争对手"], fields: [
        field("name", "Competitor", "竞争对手", .text) { $0.required = true; $0.searchable = true; $0.unique = true; $0.maxLength = 200 },
        field("website", "Website", "网站", .url),
        field("price_level", "Price level", "价格水平", .picklist) {
            $0.options = options([("lower", "Lower than ours", "低于我们"), ("similar", "Similar", "相近"), ("higher", "Higher than ours", "高于我们")])
        },
        field("strengths", "Strengths", "优势", .longText),
        field("weaknesses", "Weaknesses", "劣势", .longText),
    ], titleField: "name", listColumns: ["name", "price_level", "website"], defaultSort: "name")

    static let competitorProduct = EntityDefinition(key: "competitor_product", labels: ["en": "Competitor product", "zh-CN": "竞品"], fields: [
        field("competitor", "Competitor", "竞争对手", .lookup) { $0.target = "competitor"; $0.required = true; $0.filterable = true },
        field("name", "Product", "产品名称", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 200 },
        money("price", "Price", "价格"),
        field("compared_to", "Compares with our product", "对标我方产品", .lookup) { $0.target = "product" },
        field("notes", "Notes", "备注", .longText),
    ], titleField: "name", listColumns: ["competitor", "name", "price", "compared_to"], defaultSort: "name")

    static let competitiveDeal = EntityDefinition(key: "competitive_deal", labels: ["en": "Competitive deal", "zh-CN": "竞争订单"], fields: [
        field("opportunity", "Opportunity", "商机", .lookup) { $0.target = "opportunity"; $0.required = true; $0.filterable = true },
        field("competitor", "Competitor", "竞争对手", .lookup) { $0.target = "competitor"; $0.required = true; $0.filterable = true },
        field("competitor_product", "Their product", "对方产品", .lookup) { $0.target = "competitor_product" },
        field("notes", "Why we won or lost", "输赢原因", .longText),
    ], titleField: "competitor", listColumns: ["opportunity", "competitor", "competitor_product"], defaultSort: "-created_at")

    static let all: [EntityDefinition] = [plan, planBudget, campaign, cost, member, response, segment, template, mailing, webForm,
                                          publicRead(competitor), publicRead(competitorProduct), competitiveDeal]
}
