import Foundation
import Platform

/// The expenses module's entities (费用申请 / 费用报销 / 预算), declared as metadata on the
/// shared record engine. `computed` fields are set by ``ExpenseRules`` and the approval engine.
enum ExpensesEntities: EntityDeclarations {
    static let approvalStatuses = options([("draft", "Draft", "草稿"), ("submitted", "Submitted", "审批中"), ("returned", "Returned", "已退回"),
                                          ("approved", "Approved", "已批准"), ("rejected", "Rejected", "已驳回")])
    static let claimStatuses = approvalStatuses + options([("paid", "Paid", "已付款")])
    static let paymentMethods = options([("bank_transfer", "Bank transfer", "银行转账"), ("cash", "Cash", "现金"),
                                         ("alipay", "Alipay", "支付宝"), ("wechat_pay", "WeChat Pay", "微信支付")])

    static let category = EntityDefinition(key: "expense_category", labels: ["en": "Expense category", "zh-CN": "费用类别"], fields: [
        field("name", "Name (Chinese)", "名称", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 40 },
        field("name_en", "Name (English)", "英文名称", .text) { $0.maxLength = 60 },
        field("code", "Code", "编码", .text) { $0.required = true; $0.unique = true; $0.pattern = "[a-z][a-z0-9_]{0,30}"; $0.filterable = true },
        field("active", "Active", "启用", .boolean) { $0.defaultValue = .bool(true) },
    ], titleField: "name", listColumns: ["name", "name_en", "code", "active"], defaultSort: "code")

    static let request = EntityDefinition(key: "expense_request", labels: ["en": "Expense request", "zh-CN": "费用申请"], fields: [
        field("number", "Number", "单号", .autoNumber) { $0.format = "SQ{YYYY}{MM}-{seq:4}"; $0.searchable = true },
        field("title", "Title", "标题", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 120 },
        field("purpose", "Purpose", "事由", .longText) { $0.required = true },
        money("estimated_amount", "Estimated amount", "预计金额", required: true, filterable: true),
        field("trip_start", "Trip from", "出差开始", .date),
        field("trip_end", "Trip to", "出差结束", .date),
        field("destination", "Destination", "目的地", .text) { $0.maxLength = 80 },
        field("account", "Customer", "客户", .lookup) { $0.target = "account"; $0.filterable = true },
        field("opportunity", "Opportunity", "商机", .lookup) { $0.target = "opportunity" },
        field("status", "Status", "状态", .picklist) {
            $0.options = approvalStatuses; $0.defaultValue = .string("draft"); $0.computed = true; $0.filterable = true
        },
    ], titleField: "title", listColumns: ["number", "title", "estimated_amount", "trip_start", "status", "owner_id"], defaultSort: "-number")

    static let claim = EntityDefinition(key: "expense_claim", labels: ["en": "Expense claim", "zh-CN": "费用报销"], fields: [
        field("number", "Number", "单号", .autoNumber) { $0.format = "BX{YYYY}{MM}-{seq:4}"; $0.searchable = true },
        field("title", "Title", "标题", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 120 },
        field("request", "Expense request", "费用申请", .lookup) { $0.target = "expense_request"; $0.filterable = true },
        field("account", "Customer", "客户", .lookup) { $0.target = "account"; $0.filterable = true },
        field("opportunity", "Opportunity", "商机", .lookup) { $0.target = "opportunity" },
        field("trip_report", "Trip report", "出差报告", .longText),
        money("total", "Total (CNY)", "报销合计（人民币）", computed: true, filterable: true),
        field("status", "Status", "状态", .picklist) {
            $0.options = claimStatuses; $0.defaultValue = .string("draft"); $0.computed = true; $0.filterable = true
        },
        field("over_budget", "Over budget", "超预算", .boolean) { $0.computed = true; $0.filterable = true },
        field("exceeds_request", "Exceeds request", "超出申请", .boolean) { $0.computed = true; $0.filterable = true },
        field("budget_note", "Budget check", "预算检查", .longText) { $0.computed = true },
        field("paid_on", "Paid on", "付款日期", .date) { $0.computed = true; $0.filterable = true },
        field("payment_method", "Payment method", "付款方式", .picklist) { $0.options = paymentMethods; $0.computed = true },
        field("payment_reference", "Payment reference", "付款凭证号", .text) { $0.computed = true; $0.maxLength = 60 },
    ], titleField: "title", listColumns: ["number", "title", "total", "status", "over_budget", "owner_id"], defaultSort: "-number")

    static let line = EntityDefinition(key: "expense_line", labels: ["en": "Expense line", "zh-CN": "报销明细"], fields: [
        field("claim", "Claim", "报销单", .lookup) { $0.target = "expense_claim"; $0.required = true; $0.filterable = true },
        field("category", "Category", "费用类别", .lookup) { $0.target = "expense_category"; $0.required = true; $0.filterable = true },
        field("date", "Date", "发生日期", .date) { $0.required = true; $0.filterable = true },
        field("description", "Description", "说明", .text) { $0.maxLength = 200; $0.searchable = true },
        field("amount", "Amount", "金额", .money) { $0.required = true; $0.min = 0 },
        field("exchange_rate", "Exchange rate to CNY", "汇率（兑人民币）", .number) { $0.scale = 6; $0.min = 0; $0.defaultValue = .string("1") },
        money("amount_cny", "Amount (CNY)", "人民币金额", computed: true),
        field("account", "Customer", "客户", .lookup) { $0.target = "account"; $0.filterable = true },
        field("receipt_no", "Invoice / receipt no.", "发票号", .text) { $0.maxLength = 40; $0.searchable = true },
    ], titleField: "description", listColumns: ["claim", "date", "category", "description", "amount", "amount_cny"], defaultSort: "date")

    static let budget = EntityDefinition(key: "expense_budget", labels: ["en": "Expense budget", "zh-CN": "费用预算"], fields: [
        field("department", "Department", "部门", .department) { $0.required = true; $0.filterable = true },
        field("month", "Month", "月份", .text) { $0.required = true; $0.pattern = #"\d{4}-(0[1-9]|1[0-2])"#; $0.filterable = true },
        field("category", "Category", "费用类别", .lookup) { $0.target = "expense_category"; $0.required = true; $0.filterable = true },
        money("amount", "Budget", "预算金额", required: true),
    ], titleField: "month", listColumns: ["month", "department", "category", "amount"], defaultSort: "-month")

    static var categoryWithEnglishTitles: EntityDefinition {
        var entity = publicRead(category)
        entity.localizedTitles = ["en": "name_en"]
        entity.referenceData = true
        return entity
    }

    static var all: [EntityDefinition] { [categoryWithEnglishTitles, request, claim, line, budget] }
}
