import Foundation
import Platform

/// The sales module's entities, declared as metadata: the shared record engine stores,
/// validates, permission-checks, audits and serves them like any other object; tenants may add
/// custom fields and reorder their layouts. Fields marked `computed` are filled in by
/// ``SalesRules`` and read-only to every caller.
enum SalesEntities: EntityDeclarations {
    static let sources = options([("campaign", "Campaign", "市场活动"), ("web_form", "Web form", "网站表单"), ("phone", "Phone", "电话咨询"),
                                  ("import", "Import", "导入"), ("referral", "Referral", "客户转介绍"), ("other", "Other", "其他")])
    static let levels = options([("A", "A – key account", "A 类（重点客户）"), ("B", "B – regular", "B 类（普通客户）"), ("C", "C – small", "C 类（小客户）")])

    static let account = EntityDefinition(key: "account", labels: ["en": "Account", "zh-CN": "客户"], fields: [
        field("name", "Account name", "客户名称", .text) { $0.required = true; $0.searchable = true; $0.filterable = true },
        field("account_type", "Type", "客户类型", .picklist) {
            $0.options = options([("customer", "Customer", "客户"), ("prospect", "Prospect", "潜在客户"), ("partner", "Partner", "合作伙伴"), ("supplier", "Supplier", "供应商")])
            $0.filterable = true; $0.defaultValue = .string("prospect")
        },
        field("lifecycle", "Lifecycle stage", "生命周期", .picklist) {
            $0.options = options([("prospect", "Prospect", "潜在"), ("intent", "Interested", "意向"), ("customer", "Customer", "成交"), ("lost", "Lost", "流失")])
            $0.filterable = true; $0.defaultValue = .string("prospect")
        },
        field("level", "Value class", "客户等级", .picklist) { $0.options = levels; $0.filterable = true },
        field("industry", "Industry", "行业", .picklist) {
            $0.options = options([("it", "IT & software", "信息技术"), ("manufacturing", "Manufacturing", "制造业"), ("retail", "Retail", "零售"),
                                  ("finance", "Finance", "金融"), ("education", "Education", "教育"), ("government", "Government", "政府"),
                                  ("healthcare", "Healthcare", "医疗"), ("other", "Other", "其他")])
            $0.filterable = true
        },
        field("region", "Region", "区域", .text) { $0.filterable = true; $0.maxLength = 60 },
        field("phone", "Phone", "电话", .phone) { $0.searchable = true; $0.filterable = true },
        field("tax_id", "Tax id (USCC)", "统一社会信用代码", .text) { $0.searchable = true; $0.filterable = true; $0.maxLength = 30 },
        field("website", "Website", "网站", .url),
        field("address", "Address", "地址", .text),
        field("parent", "Parent account", "上级客户", .lookup) { $0.target = "account" },
        field("notes", "Notes", "备注", .longText),
    ], titleField: "name", listColumns: ["name", "level", "lifecycle", "industry", "region", "owner_id"], defaultSort: "name")

    static let contact = EntityDefinition(key: "contact", labels: ["en": "Contact", "zh-CN": "联系人"], fields: [
        field("name", "Name", "姓名", .text) { $0.required = true; $0.searchable = true },
        field("account", "Account", "所属客户", .lookup) { $0.target = "account"; $0.required = true; $0.filterable = true },
        field("title", "Job title", "职务", .text),
        field("mobile", "Mobile", "手机", .phone) { $0.searchable = true },
        field("phone", "Office phone", "办公电话", .phone),
        field("email", "Email", "邮箱", .email) { $0.searchable = true },
        field("wechat", "WeChat id", "微信号", .text) { $0.maxLength = 40 },
        field("birthday", "Birthday", "生日", .date) { $0.filterable = true },
        field("decision_role", "Decision role", "决策角色", .picklist) {
            $0.options = options([("decision_maker", "Decision maker", "决策者"), ("influencer", "Influencer", "影响者"), ("user", "User", "使用者"),
                                  ("gatekeeper", "Gatekeeper", "把关者"), ("other", "Other", "其他")])
        },
        field("reports_to", "Reports to", "汇报对象", .lookup) { $0.target = "contact" },
    ], titleField: "name", listColumns: ["name", "account", "title", "mobile", "decision_role", "owner_id"], defaultSort: "name")

    static let lead = EntityDefinition(key: "lead", labels: ["en": "Lead", "zh-CN": "线索"], fields: [
        field("name", "Name", "姓名", .text) { $0.required = true; $0.searchable = true },
        field("company", "Company", "公司", .text) { $0.searchable = true },
        field("title", "Job title", "职务", .text),
        field("phone", "Phone", "电话", .phone) { $0.searchable = true },
        field("email", "Email", "邮箱", .email) { $0.searchable = true },
        field("source", "Source", "来源", .picklist) { $0.options = sources; $0.filterable = true },
        // Set by the marketing module's responses and web forms (its first campaign: first touch).
        field("campaign", "Campaign", "市场活动", .lookup) { $0.target = "campaign"; $0.filterable = true },
        field("status", "Status", "状态", .picklist) {
            $0.options = options([("new", "New", "新建"), ("working", "Working", "跟进中"), ("qualified", "Qualified", "已确认"),
                                  ("converted", "Converted", "已转化"), ("disqualified", "Disqualified", "无效")])
            $0.filterable = true; $0.defaultValue = .string("new")
        },
        field("notes", "Notes", "备注", .longText),
        field("pool", "Assign within department", "分配到部门（轮流）", .department),
        field("converted_account", "Converted to account", "转化客户", .lookup) { $0.target = "account"; $0.computed = true },
        field("converted_contact", "Converted to contact", "转化联系人", .lookup) { $0.target = "contact"; $0.computed = true },
        field("converted_opportunity", "Converted to opportunity", "转化商机", .lookup) { $0.target = "opportunity"; $0.computed = true },
        field("converted_at", "Converted at", "转化时间", .datetime) { $0.computed = true },
    ], titleField: "name", listColumns: ["name", "company", "source", "status", "owner_id"], defaultSort: "-created_at")

    static let stage = EntityDefinition(key: "sales_stage", labels: ["en": "Pipeline stage", "zh-CN": "销售阶段"], fields: [
        field("name", "Stage", "阶段名称", .text) { $0.required = true; $0.maxLength = 40 },
        field("name_en", "Stage (English)", "阶段英文名", .text) { $0.maxLength = 40 },
        field("position", "Order", "顺序", .number) { $0.required = true; $0.scale = 0; $0.min = 1; $0.max = 99; $0.filterable = true },
        field("probability", "Win probability", "赢单概率", .percent) { $0.required = true; $0.min = 0; $0.max = 100; $0.scale = 0 },
        field("kind", "Kind", "类型", .picklist) {
            $0.options = options([("open", "Open", "进行中"), ("won", "Won", "赢单"), ("lost", "Lost", "输单")])
            $0.required = true; $0.defaultValue = .string("open"); $0.filterable = true
        },
    ], titleField: "name", listColumns: ["position", "name", "name_en", "probability", "kind"], defaultSort: "position")

    static let opportunity = EntityDefinition(key: "opportunity", labels: ["en": "Opportunity", "zh-CN": "商机"], fields: [
        field("name", "Opportunity", "商机名称", .text) { $0.required = true; $0.searchable = true },
        field("account", "Account", "客户", .lookup) { $0.target = "account"; $0.required = true; $0.filterable = true },
        field("contact", "Contact", "联系人", .lookup) { $0.target = "contact" },
        money("amount", "Amount", "预计金额", required: true, filterable: true),
        field("close_date", "Expected close", "预计成交日期", .date) { $0.required = true; $0.filterable = true },
        field("stage", "Stage", "销售阶段", .lookup) { $0.target = "sales_stage"; $0.required = true; $0.filterable = true },
        field("probability", "Probability", "赢单概率", .percent) { $0.computed = true; $0.scale = 0 },
        money("weighted_amount", "Weighted amount", "加权金额", computed: true),
        field("stage_changed_at", "Stage since", "进入阶段时间", .datetime) { $0.computed = true },
        field("source", "Source", "来源", .picklist) { $0.options = sources },
        field("campaign", "Campaign", "市场活动", .lookup) { $0.target = "campaign"; $0.filterable = true },
        field("competitors", "Competitors", "竞争对手", .text),
        field("lost_reason", "Lost reason", "输单原因", .picklist) {
            $0.options = options([("price", "Price", "价格"), ("product", "Product fit", "产品不满足"), ("competitor", "Chose a competitor", "选择竞争对手"),
                                  ("timing", "Timing", "时机不成熟"), ("no_budget", "No budget", "无预算"), ("other", "Other", "其他")])
        },
        field("next_step", "Next step", "下一步", .text),
        field("lead", "From lead", "来源线索", .lookup) { $0.target = "lead"; $0.computed = true },
    ], titleField: "name", listColumns: ["name", "account", "stage", "amount", "probability", "close_date", "owner_id"], defaultSort: "close_date")

    static let stageChange = EntityDefinition(key: "stage_change", labels: ["en": "Stage history", "zh-CN": "阶段历史"], fields: [
        field("opportunity", "Opportunity", "商机", .lookup) { $0.target = "opportunity"; $0.required = true; $0.filterable = true; $0.computed = true },
        field("stage", "Stage", "阶段", .lookup) { $0.target = "sales_stage"; $0.required = true; $0.filterable = true; $0.computed = true },
        field("from_stage", "Previous stage", "前一阶段", .lookup) { $0.target = "sales_stage"; $0.computed = true },
        field("entered_at", "Entered", "进入时间", .datetime) { $0.required = true; $0.computed = true },
        field("left_at", "Left", "离开时间", .datetime) { $0.computed = true; $0.filterable = true },
        field("days", "Days in stage", "停留天数", .number) { $0.scale = 2; $0.computed = true },
        money("amount", "Amount then", "当时金额", computed: true),
    ], titleField: "entered_at", listColumns: ["opportunity", "stage", "entered_at", "left_at", "days"], defaultSort: "-entered_at,-created_at")

    static let product = EntityDefinition(key: "product", labels: ["en": "Product", "zh-CN": "产品"], fields: [
        field("code", "Code", "产品编码", .text) { $0.required = true; $0.unique = true; $0.searchable = true; $0.maxLength = 40 },
        field("name", "Product", "产品名称", .text) { $0.required = true; $0.searchable = true },
        field("category", "Category", "类别", .picklist) {
            $0.options = options([("hardware", "Hardware", "硬件"), ("software", "Software", "软件"), ("service", "Service", "服务"), ("other", "Other", "其他")])
            $0.filterable = true
        },
        field("unit", "Unit", "单位", .text) { $0.maxLength = 10 },
        money("list_price", "List price", "标准价", required: true),
        money("cost", "Cost", "成本价"),
        field("tax_rate", "Tax rate", "税率", .percent) { $0.min = 0; $0.max = 100; $0.defaultValue = .string("13") },
        field("active", "Active", "启用", .boolean) { $0.defaultValue = .bool(true); $0.filterable = true },
    ], titleField: "name", listColumns: ["code", "name", "category", "unit", "list_price", "tax_rate", "active"], defaultSort: "code")

    static let priceListItem = EntityDefinition(key: "price_list_item", labels: ["en": "Price list", "zh-CN": "价目表"], fields: [
        field("product", "Product", "产品", .lookup) { $0.target = "product"; $0.required = true; $0.filterable = true },
        field("level", "For value class", "适用客户等级", .picklist) { $0.options = levels; $0.filterable = true },
        field("region", "For region", "适用区域", .text) { $0.maxLength = 60 },
        money("price", "Price", "价格", required: true),
    ], titleField: "level", listColumns: ["product", "level", "region", "price"], defaultSort: "-created_at")

    static func header(_ key: String, _ en: String, _ zh: String, number: String, extra: [FieldDefinition], columns: [String]) -> EntityDefinition {
        EntityDefinition(key: key, labels: ["en": en, "zh-CN": zh], fields: [
            field("number", "Number", "单号", .autoNumber) { $0.format = number; $0.searchable = true },
        ] + extra + [
            money("subtotal", "Subtotal (before discount)", "折前金额", computed: true),
            money("discount_total", "Discount", "折扣额", computed: true),
            money("tax_total", "Tax", "税额", computed: true),
            money("total", "Total", "价税合计", computed: true, filterable: true),
        ], titleField: "number", listColumns: columns, defaultSort: "-created_at")
    }

    static let quote = header("quote", "Quote", "报价单", number: "QT-{YYYY}-{seq:5}", extra: [
        field("name", "Subject", "主题", .text) { $0.required = true; $0.searchable = true },
        field("account", "Account", "客户", .lookup) { $0.target = "account"; $0.required = true; $0.filterable = true },
        field("opportunity", "Opportunity", "商机", .lookup) { $0.target = "opportunity"; $0.filterable = true },
        field("contact", "Contact", "联系人", .lookup) { $0.target = "contact" },
        field("valid_until", "Valid until", "有效期至", .date),
        field("status", "Status", "状态", .picklist) {
            $0.options = options([("draft", "Draft", "草稿"), ("sent", "Sent", "已发送"), ("accepted", "Accepted", "已接受"),
                                  ("rejected", "Rejected", "已拒绝"), ("converted", "Converted to order", "已转订单")])
            $0.defaultValue = .string("draft"); $0.filterable = true
        },
        field("revision", "Revision", "版本", .number) { $0.scale = 0; $0.computed = true },
        field("sales_order", "Sales order", "销售订单", .lookup) { $0.target = "sales_order"; $0.computed = true },
        field("terms", "Terms", "条款", .longText),
    ], columns: ["number", "name", "account", "status", "total", "valid_until", "owner_id"])

    static let order = header("sales_order", "Sales order", "销售订单", number: "SO-{YYYY}-{seq:5}", extra: [
        field("kind", "Kind", "单据类型", .picklist) {
            $0.options = options([("order", "Order", "销售订单"), ("return", "Return", "退货单")])
            $0.defaultValue = .string("order"); $0.filterable = true
        },
        field("account", "Account", "客户", .lookup) { $0.target = "account"; $0.required = true; $0.filterable = true },
        field("opportunity", "Opportunity", "商机", .lookup) { $0.target = "opportunity" },
        field("quote", "From quote", "来源报价", .lookup) { $0.target = "quote"; $0.computed = true },
        field("original_order", "Returned order", "原订单", .lookup) { $0.target = "sales_order" },
        field("order_date", "Order date", "下单日期", .date) { $0.required = true; $0.filterable = true },
        field("due_date", "Payment due", "应收日期", .date) { $0.filterable = true },
        field("status", "Status", "状态", .picklist) {
            $0.options = options([("draft", "Draft", "草稿"), ("confirmed", "Confirmed", "已确认"), ("delivered", "Delivered", "已发货"),
                                  ("closed", "Closed", "已关闭"), ("cancelled", "Cancelled", "已取消")])
            $0.defaultValue = .string("draft"); $0.filterable = true
        },
        money("received", "Received", "已收款", computed: true),
        money("outstanding", "Outstanding", "应收余额", computed: true, filterable: true),
    ], columns: ["number", "account", "kind", "order_date", "status", "total", "received", "outstanding", "owner_id"])

    static func line(_ key: String, _ en: String, _ zh: String, parent: String, parentLabel: (String, String)) -> EntityDefinition {
        EntityDefinition(key: key, labels: ["en": en, "zh-CN": zh], fields: [
            field(parent, parentLabel.0, parentLabel.1, .lookup) { $0.target = parent; $0.required = true; $0.filterable = true },
            field("position", "Line", "行号", .number) { $0.scale = 0; $0.min = 1; $0.max = 9999 },
            field("product", "Product", "产品", .lookup) { $0.target = "product" },
            field("description", "Description", "描述", .text),
            field("quantity", "Quantity", "数量", .number) { $0.required = true; $0.min = 0; $0.scale = 4 },
            money("unit_price", "Unit price", "单价"),
            field("discount", "Discount %", "折扣 %", .percent) { $0.min = 0; $0.max = 100; $0.defaultValue = .string("0") },
            field("tax_rate", "Tax rate %", "税率 %", .percent) { $0.min = 0; $0.max = 100 },
            money("net_amount", "Net amount", "不含税金额", computed: true),
            money("tax_amount", "Tax", "税额", computed: true),
            money("line_total", "Line total", "价税合计", computed: true),
        ], titleField: "description", listColumns: ["position", "description", "quantity", "unit_price", "discount", "tax_rate", "line_total"], defaultSort: "position,created_at")
    }

    static let quoteLine = line("quote_line", "Quote line", "报价明细", parent: "quote", parentLabel: ("Quote", "报价单"))
    static let orderLine = line("order_line", "Order line", "订单明细", parent: "sales_order", parentLabel: ("Sales order", "销售订单"))

    static let installment = EntityDefinition(key: "payment_installment", labels: ["en": "Payment plan", "zh-CN": "回款计划"], fields: [
        field("sales_order", "Sales order", "销售订单", .lookup) { $0.target = "sales_order"; $0.required = true; $0.filterable = true },
        field("due_date", "Due date", "计划回款日期", .date) { $0.required = true; $0.filterable = true },
        money("amount", "Amount", "计划金额", required: true),
        field("note", "Note", "说明", .text),
    ], titleField: "due_date", listColumns: ["sales_order", "due_date", "amount", "note"], defaultSort: "due_date")

    static let receipt = EntityDefinition(key: "receipt", labels: ["en": "Receipt", "zh-CN": "收款单"], fields: [
        field("number", "Number", "单号", .autoNumber) { $0.format = "RC-{YYYY}-{seq:5}"; $0.searchable = true },
        field("sales_order", "Sales order", "销售订单", .lookup) { $0.target = "sales_order"; $0.required = true; $0.filterable = true },
        field("account", "Account", "客户", .lookup) { $0.target = "account"; $0.computed = true; $0.filterable = true },
        field("salesperson", "Salesperson", "销售人员", .user) { $0.computed = true; $0.filterable = true },
        field("received_on", "Received on", "收款日期", .date) { $0.required = true; $0.filterable = true },
        field("amount", "Amount", "收款金额", .money) { $0.required = true; $0.min = Decimal(string: "0.01") },
        field("method", "Method", "收款方式", .picklist) {
            $0.options = options([("bank_transfer", "Bank transfer", "银行转账"), ("cash", "Cash", "现金"), ("alipay", "Alipay", "支付宝"),
                                  ("wechat_pay", "WeChat Pay", "微信支付"), ("acceptance_bill", "Bank acceptance bill", "承兑汇票"), ("other", "Other", "其他")])
        },
        field("reference", "Reference", "凭证号", .text) { $0.searchable = true },
    ], titleField: "number", listColumns: ["number", "sales_order", "account", "received_on", "amount", "method"], defaultSort: "-received_on")

    static let contract = EntityDefinition(key: "contract", labels: ["en": "Contract", "zh-CN": "合同"], fields: [
        field("number", "Number", "合同编号", .autoNumber) { $0.format = "CT-{YYYY}-{seq:5}"; $0.searchable = true },
        field("name", "Title", "合同名称", .text) { $0.required = true; $0.searchable = true },
        field("account", "Account", "客户", .lookup) { $0.target = "account"; $0.required = true; $0.filterable = true },
        field("opportunity", "Opportunity", "商机", .lookup) { $0.target = "opportunity" },
        field("sales_order", "Sales order", "销售订单", .lookup) { $0.target = "sales_order" },
        field("start_date", "Start", "开始日期", .date) { $0.required = true },
        field("end_date", "End", "结束日期", .date) { $0.required = true; $0.filterable = true },
        money("amount", "Amount", "合同金额"),
        field("status", "Status", "状态", .picklist) {
            $0.options = options([("draft", "Draft", "草稿"), ("active", "Active", "执行中"), ("expired", "Expired", "已到期"), ("terminated", "Terminated", "已终止")])
            $0.defaultValue = .string("draft"); $0.filterable = true
        },
        field("renewal_notice_days", "Renewal reminder (days before end)", "续约提醒（到期前天数）", .number) {
            $0.scale = 0; $0.min = 0; $0.max = 365; $0.defaultValue = .string("30")
        },
    ], titleField: "name", listColumns: ["number", "name", "account", "status", "end_date", "amount", "owner_id"], defaultSort: "end_date")

    static let target = EntityDefinition(key: "sales_target", labels: ["en": "Sales target", "zh-CN": "销售目标"], fields: [
        field("period", "Period", "期间", .text) {
            $0.required = true; $0.pattern = #"\d{4}-(0[1-9]|1[0-2]|Q[1-4])"#; $0.filterable = true
        },
        field("user", "Salesperson", "销售人员", .user) { $0.filterable = true },
        field("department", "Department", "部门", .department) { $0.filterable = true },
        money("order_target", "Orders target", "订单目标"),
        money("collection_target", "Collection target", "回款目标"),
    ], titleField: "period", listColumns: ["period", "user", "department", "order_target", "collection_target"], defaultSort: "-period")


    static var stageWithEnglishTitles: EntityDefinition {
        var entity = publicRead(stage)
        entity.localizedTitles = ["en": "name_en"]
        entity.referenceData = true
        return entity
    }

    static let all: [EntityDefinition] = [account, contact, lead, stageWithEnglishTitles, opportunity, stageChange, publicRead(product), publicRead(priceListItem),
                                          quote, quoteLine, order, orderLine, installment, receipt, contract, target]
}
