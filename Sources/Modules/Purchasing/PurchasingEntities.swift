import Foundation
import Platform

/// The purchasing and stock module's entities (供应商 / 采购订单 / 入库 / 采购退货 / 付款 /
/// 仓库 / 库存 / 发货单), declared as metadata on the shared record engine. Quantities are
/// exact decimals (scale 3), money exact to the cent; `computed` fields are written only by
/// the module's rules (``StockLedger``, ``PurchaseOrderRules``, ``Payables``).
enum PurchasingEntities: EntityDeclarations {
    static let orderStatuses = options([
        ("draft", "Draft", "草稿"), ("submitted", "Awaiting approval", "审批中"), ("returned", "Returned", "已退回"),
        ("rejected", "Rejected", "已驳回"), ("approved", "Approved", "已批准"), ("sent", "Sent", "已发送"),
        ("partially_received", "Partially received", "部分入库"), ("received", "Received", "已入库"),
        ("closed", "Closed", "已关闭"), ("cancelled", "Cancelled", "已取消"),
    ])
    static let movementKinds = options([
        ("receipt", "Purchase receipt", "采购入库"), ("purchase_return", "Purchase return", "采购退货"),
        ("delivery", "Sales delivery", "销售发货"), ("adjustment", "Adjustment / stock count", "盘点调整"),
    ])
    static let paymentMethods = options([("bank_transfer", "Bank transfer", "银行转账"), ("cash", "Cash", "现金"),
                                         ("acceptance_bill", "Bank acceptance bill", "承兑汇票"), ("other", "Other", "其他")])

    static func quantity(_ key: String, _ en: String, _ zh: String, computed: Bool = false, required: Bool = false) -> FieldDefinition {
        field(key, en, zh, .number) { $0.scale = 3; $0.computed = computed; $0.required = required }
    }

    /// A signed amount (stock value, movement value): money without the usual minimum of 0.
    static func signedMoney(_ key: String, _ en: String, _ zh: String) -> FieldDefinition {
        field(key, en, zh, .money) { $0.computed = true }
    }

    static let supplier = EntityDefinition(key: "supplier", labels: ["en": "Supplier", "zh-CN": "供应商"], fields: [
        field("name", "Supplier", "供应商名称", .text) { $0.required = true; $0.searchable = true; $0.filterable = true; $0.maxLength = 120 },
        field("code", "Code", "编码", .text) { $0.unique = true; $0.searchable = true; $0.maxLength = 40 },
        field("contact_name", "Contact", "联系人", .text) { $0.maxLength = 60 },
        field("phone", "Phone", "电话", .phone),
        field("email", "Email", "邮箱", .email),
        field("address", "Address", "地址", .text),
        field("tax_id", "Tax id (USCC)", "统一社会信用代码", .text) { $0.searchable = true; $0.maxLength = 30 },
        field("bank_name", "Bank", "开户行", .text) { $0.maxLength = 80 },
        field("bank_account", "Bank account", "银行账号", .text) { $0.maxLength = 40 },
        field("payment_terms", "Payment terms", "付款条件", .picklist) {
            $0.options = options([("prepaid", "Prepaid", "预付"), ("cod", "Cash on delivery", "货到付款"), ("net30", "30 days", "月结30天"), ("net60", "60 days", "月结60天")])
        },
        field("rating", "Rating", "评级", .picklist) { $0.options = options([("A", "A", "A"), ("B", "B", "B"), ("C", "C", "C")]); $0.filterable = true },
        field("status", "Status", "状态", .picklist) {
            $0.options = options([("active", "Active", "合作中"), ("blocked", "Blocked", "已停用")]); $0.defaultValue = .string("active"); $0.filterable = true
        },
        money("received_total", "Received (incl. tax)", "入库金额（含税）", computed: true),
        money("returned_total", "Returned (incl. tax)", "退货金额（含税）", computed: true),
        money("paid_total", "Paid", "已付款", computed: true),
        money("payable", "Payable", "应付余额", computed: true, filterable: true),
    ], titleField: "name", listColumns: ["name", "code", "rating", "status", "payable"], defaultSort: "name")

    static let supplierPrice = EntityDefinition(key: "supplier_price", labels: ["en": "Supplier price", "zh-CN": "供应商价目"], fields: [
        field("supplier", "Supplier", "供应商", .lookup) { $0.target = "supplier"; $0.required = true; $0.filterable = true },
        field("product", "Product", "产品", .lookup) { $0.target = "product"; $0.required = true; $0.filterable = true },
        money("price", "Purchase price (excl. tax)", "采购单价（不含税）", required: true),
        quantity("min_quantity", "Minimum quantity", "最小起订量"),
        field("lead_time_days", "Lead time (days)", "交货周期（天）", .number) { $0.scale = 0; $0.min = 0; $0.max = 365 },
        field("valid_from", "Valid from", "生效日期", .date) { $0.filterable = true },
        field("valid_to", "Valid to", "失效日期", .date) { $0.filterable = true },
        field("preferred", "Preferred supplier", "首选供应商", .boolean) { $0.defaultValue = .bool(false); $0.filterable = true },
    ], titleField: "product", listColumns: ["supplier", "product", "price", "min_quantity", "lead_time_days", "valid_to", "preferred"], defaultSort: "-created_at")

    static let warehouse = EntityDefinition(key: "warehouse", labels: ["en": "Warehouse", "zh-CN": "仓库"], fields: [
        field("code", "Code", "仓库编码", .text) { $0.required = true; $0.unique = true; $0.maxLength = 20; $0.filterable = true },
        field("name", "Warehouse", "仓库名称", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 60 },
        field("address", "Address", "地址", .text),
        field("allow_negative", "Allow negative stock", "允许负库存", .boolean) { $0.defaultValue = .bool(false) },
        field("active", "Active", "启用", .boolean) { $0.defaultValue = .bool(true); $0.filterable = true },
    ], titleField: "name", listColumns: ["code", "name", "address", "active"], defaultSort: "code")

    static let stockRule = EntityDefinition(key: "stock_rule", labels: ["en": "Reorder rule", "zh-CN": "补货规则"], fields: [
        field("product", "Product", "产品", .lookup) { $0.target = "product"; $0.required = true; $0.unique = true; $0.filterable = true },
        quantity("min_quantity", "Minimum stock", "最低库存", required: true),
        quantity("reorder_quantity", "Reorder quantity", "补货批量"),
    ], titleField: "product", listColumns: ["product", "min_quantity", "reorder_quantity"], defaultSort: "-created_at")

    static let order = EntityDefinition(key: "purchase_order", labels: ["en": "Purchase order", "zh-CN": "采购订单"], fields: [
        field("number", "Number", "单号", .autoNumber) { $0.format = "PO-{YYYY}-{seq:5}"; $0.searchable = true },
        field("supplier", "Supplier", "供应商", .lookup) { $0.target = "supplier"; $0.required = true; $0.filterable = true },
        field("order_date", "Order date", "下单日期", .date) { $0.filterable = true },
        field("expected_date", "Expected", "预计到货", .date) { $0.filterable = true },
        field("warehouse", "Deliver to", "收货仓库", .lookup) { $0.target = "warehouse" },
        field("status", "Status", "状态", .picklist) { $0.options = orderStatuses; $0.defaultValue = .string("draft"); $0.computed = true; $0.filterable = true },
        field("notes", "Notes", "备注", .longText),
        money("subtotal", "Net", "不含税金额", computed: true),
        money("tax_total", "Tax", "税额", computed: true),
        money("total", "Total", "价税合计", computed: true, filterable: true),
        money("received_amount", "Received (incl. tax)", "已入库金额", computed: true),
        field("sent_at", "Sent", "发送时间", .datetime) { $0.computed = true },
    ], titleField: "number", listColumns: ["number", "supplier", "order_date", "status", "total", "received_amount", "owner_id"], defaultSort: "-number")

    static let orderLine = EntityDefinition(key: "purchase_order_line", labels: ["en": "Purchase order line", "zh-CN": "采购明细"], fields: [
        field("purchase_order", "Purchase order", "采购订单", .lookup) { $0.target = "purchase_order"; $0.required = true; $0.filterable = true },
        field("product", "Product", "产品", .lookup) { $0.target = "product"; $0.required = true; $0.filterable = true },
        quantity("quantity", "Quantity", "数量", required: true),
        field("unit_price", "Unit price (excl. tax)", "单价（不含税）", .money) { $0.min = 0 },
        field("tax_rate", "Tax rate %", "税率 %", .percent) { $0.min = 0; $0.max = 100; $0.defaultValue = .string("13") },
        money("net_amount", "Net", "不含税金额", computed: true),
        money("tax_amount", "Tax", "税额", computed: true),
        money("line_total", "Line total", "价税合计", computed: true),
        quantity("received_quantity", "Received", "已入库", computed: true),
        quantity("returned_quantity", "Returned", "已退货", computed: true),
    ], titleField: "product", listColumns: ["product", "quantity", "unit_price", "tax_rate", "line_total", "received_quantity"], defaultSort: "created_at")

    static let receipt = EntityDefinition(key: "stock_receipt", labels: ["en": "Goods receipt", "zh-CN": "采购入库单"], fields: [
        field("number", "Number", "单号", .autoNumber) { $0.format = "GR-{YYYY}-{seq:5}"; $0.searchable = true },
        field("purchase_order", "Purchase order", "采购订单", .lookup) { $0.target = "purchase_order"; $0.required = true; $0.filterable = true },
        field("warehouse", "Warehouse", "仓库", .lookup) { $0.target = "warehouse"; $0.required = true; $0.filterable = true },
        field("received_on", "Received on", "入库日期", .date) { $0.filterable = true },
        field("supplier", "Supplier", "供应商", .lookup) { $0.target = "supplier"; $0.computed = true; $0.filterable = true },
        money("total", "Payable (incl. tax)", "应付金额（含税）", computed: true),
        field("notes", "Notes", "备注", .text),
    ], titleField: "number", listColumns: ["number", "purchase_order", "supplier", "warehouse", "received_on", "total"], defaultSort: "-number")

    static let receiptLine = EntityDefinition(key: "stock_receipt_line", labels: ["en": "Goods receipt line", "zh-CN": "入库明细"], fields: [
        field("receipt", "Receipt", "入库单", .lookup) { $0.target = "stock_receipt"; $0.required = true; $0.filterable = true },
        field("order_line", "Order line", "采购明细", .lookup) { $0.target = "purchase_order_line"; $0.required = true; $0.filterable = true },
        quantity("quantity", "Quantity", "数量", required: true),
        field("product", "Product", "产品", .lookup) { $0.target = "product"; $0.computed = true; $0.filterable = true },
        field("supplier", "Supplier", "供应商", .lookup) { $0.target = "supplier"; $0.computed = true; $0.filterable = true },
        field("warehouse", "Warehouse", "仓库", .lookup) { $0.target = "warehouse"; $0.computed = true },
        field("unit_cost", "Unit cost (excl. tax)", "单位成本（不含税）", .money) { $0.computed = true },
        field("tax_rate", "Tax rate %", "税率 %", .percent) { $0.computed = true },
        money("amount", "Payable (incl. tax)", "应付金额（含税）", computed: true),
        quantity("returned_quantity", "Returned", "已退货", computed: true),
    ], titleField: "product", listColumns: ["receipt", "product", "quantity", "unit_cost", "amount", "returned_quantity"], defaultSort: "created_at")

    static let purchaseReturn = EntityDefinition(key: "purchase_return", labels: ["en": "Purchase return", "zh-CN": "采购退货单"], fields: [
        field("number", "Number", "单号", .autoNumber) { $0.format = "PR-{YYYY}-{seq:5}"; $0.searchable = true },
        field("supplier", "Supplier", "供应商", .lookup) { $0.target = "supplier"; $0.required = true; $0.filterable = true },
        field("returned_on", "Returned on", "退货日期", .date) { $0.filterable = true },
        field("reason", "Reason", "退货原因", .text) { $0.maxLength = 200 },
        money("total", "Credit (incl. tax)", "冲减应付（含税）", computed: true),
    ], titleField: "number", listColumns: ["number", "supplier", "returned_on", "reason", "total"], defaultSort: "-number")

    static let returnLine = EntityDefinition(key: "purchase_return_line", labels: ["en": "Purchase return line", "zh-CN": "退货明细"], fields: [
        field("purchase_return", "Return", "退货单", .lookup) { $0.target = "purchase_return"; $0.required = true; $0.filterable = true },
        field("receipt_line", "Receipt line", "入库明细", .lookup) { $0.target = "stock_receipt_line"; $0.required = true; $0.filterable = true },
        quantity("quantity", "Quantity", "数量", required: true),
        field("product", "Product", "产品", .lookup) { $0.target = "product"; $0.computed = true; $0.filterable = true },
        field("warehouse", "Warehouse", "仓库", .lookup) { $0.target = "warehouse"; $0.computed = true },
        money("amount", "Credit (incl. tax)", "冲减应付（含税）", computed: true),
    ], titleField: "product", listColumns: ["purchase_return", "product", "quantity", "amount"], defaultSort: "created_at")

    static let payment = EntityDefinition(key: "supplier_payment", labels: ["en": "Supplier payment", "zh-CN": "付款单"], fields: [
        field("number", "Number", "单号", .autoNumber) { $0.format = "PY-{YYYY}-{seq:5}"; $0.searchable = true },
        field("supplier", "Supplier", "供应商", .lookup) { $0.target = "supplier"; $0.required = true; $0.filterable = true },
        field("paid_on", "Paid on", "付款日期", .date) { $0.required = true; $0.filterable = true },
        field("amount", "Amount", "付款金额", .money) { $0.required = true; $0.min = Decimal(string: "0.01") },
        field("method", "Method", "付款方式", .picklist) { $0.options = paymentMethods },
        field("reference", "Reference", "凭证号", .text) { $0.maxLength = 60 },
    ], titleField: "number", listColumns: ["number", "supplier", "paid_on", "amount", "method"], defaultSort: "-paid_on")

    static let stockLevel = EntityDefinition(key: "stock_level", labels: ["en": "Stock", "zh-CN": "库存"], fields: [
        field("key", "Key", "键", .text) { $0.unique = true; $0.computed = true; $0.filterable = true },
        field("product", "Product", "产品", .lookup) { $0.target = "product"; $0.computed = true; $0.filterable = true },
        field("warehouse", "Warehouse", "仓库", .lookup) { $0.target = "warehouse"; $0.computed = true; $0.filterable = true },
        quantity("on_hand", "On hand", "现存量", computed: true),
        field("average_cost", "Average cost", "移动平均成本", .number) { $0.scale = 4; $0.computed = true },
        signedMoney("stock_value", "Stock value", "库存金额"),
        field("last_movement_at", "Last movement", "最近出入库", .datetime) { $0.computed = true; $0.filterable = true },
    ], titleField: "key", listColumns: ["product", "warehouse", "on_hand", "average_cost", "stock_value", "last_movement_at"], defaultSort: "key")

    static let movement = EntityDefinition(key: "stock_movement", labels: ["en": "Stock movement", "zh-CN": "出入库流水"], fields: [
        field("product", "Product", "产品", .lookup) { $0.target = "product"; $0.required = true; $0.filterable = true },
        field("warehouse", "Warehouse", "仓库", .lookup) { $0.target = "warehouse"; $0.required = true; $0.filterable = true },
        field("kind", "Kind", "类型", .picklist) { $0.options = movementKinds; $0.required = true; $0.filterable = true },
        quantity("quantity", "Quantity (+ in / − out)", "数量（入+/出−）", required: true),
        field("unit_cost", "Unit cost", "单位成本", .number) { $0.scale = 4; $0.min = 0 },
        signedMoney("value", "Value", "金额"),
        quantity("balance_after", "On hand after", "结存数量", computed: true),
        field("reason", "Reason", "原因", .text) { $0.maxLength = 200 },
        field("source_entity", "Source document", "来源单据类型", .text) { $0.computed = true },
        field("source_id", "Source id", "来源单据", .text) { $0.computed = true; $0.filterable = true },
    ], titleField: "kind", listColumns: ["created_at", "product", "warehouse", "kind", "quantity", "value", "balance_after"], defaultSort: "-created_at")

    static let deliveryNote = EntityDefinition(key: "delivery_note", labels: ["en": "Delivery note", "zh-CN": "发货单"], fields: [
        field("number", "Number", "单号", .autoNumber) { $0.format = "DN-{YYYY}-{seq:5}"; $0.searchable = true },
        field("sales_order", "Sales order", "销售订单", .lookup) { $0.target = "sales_order"; $0.required = true; $0.filterable = true },
        field("warehouse", "Warehouse", "仓库", .lookup) { $0.target = "warehouse"; $0.required = true; $0.filterable = true },
        field("delivered_on", "Delivered on", "发货日期", .date) { $0.filterable = true },
        field("account", "Customer", "客户", .lookup) { $0.target = "account"; $0.computed = true; $0.filterable = true },
        money("cost_total", "Cost of goods", "发货成本", computed: true),
        field("notes", "Notes", "备注", .text),
    ], titleField: "number", listColumns: ["number", "sales_order", "account", "warehouse", "delivered_on", "cost_total"], defaultSort: "-number")

    static let deliveryLine = EntityDefinition(key: "delivery_note_line", labels: ["en": "Delivery line", "zh-CN": "发货明细"], fields: [
        field("delivery_note", "Delivery note", "发货单", .lookup) { $0.target = "delivery_note"; $0.required = true; $0.filterable = true },
        field("order_line", "Order line", "订单明细", .lookup) { $0.target = "order_line"; $0.required = true; $0.filterable = true },
        quantity("quantity", "Quantity", "数量", required: true),
        field("product", "Product", "产品", .lookup) { $0.target = "product"; $0.computed = true; $0.filterable = true },
        field("sales_order", "Sales order", "销售订单", .lookup) { $0.target = "sales_order"; $0.computed = true; $0.filterable = true },
        signedMoney("cost", "Cost", "成本"),
    ], titleField: "product", listColumns: ["delivery_note", "product", "quantity", "cost"], defaultSort: "created_at")

    static let plan = EntityDefinition(key: "purchase_plan", labels: ["en": "Purchase plan", "zh-CN": "采购计划"], fields: [
        field("number", "Number", "单号", .autoNumber) { $0.format = "PP-{YYYY}-{seq:5}"; $0.searchable = true },
        field("title", "Title", "标题", .text) { $0.required = true; $0.maxLength = 120; $0.searchable = true },
        field("needed_by", "Needed by", "需求日期", .date) { $0.filterable = true },
        field("status", "Status", "状态", .picklist) {
            $0.options = options([("open", "Open", "待下单"), ("ordered", "Ordered", "已下单")]); $0.defaultValue = .string("open"); $0.computed = true; $0.filterable = true
        },
    ], titleField: "title", listColumns: ["number", "title", "needed_by", "status", "owner_id"], defaultSort: "-number")

    static let planLine = EntityDefinition(key: "purchase_plan_line", labels: ["en": "Purchase plan line", "zh-CN": "采购计划明细"], fields: [
        field("purchase_plan", "Purchase plan", "采购计划", .lookup) { $0.target = "purchase_plan"; $0.required = true; $0.filterable = true },
        field("product", "Product", "产品", .lookup) { $0.target = "product"; $0.required = true; $0.filterable = true },
        quantity("quantity", "Quantity", "数量", required: true),
        field("supplier", "Supplier", "供应商", .lookup) { $0.target = "supplier"; $0.filterable = true },
        field("reason", "Reason", "原因", .text) { $0.maxLength = 200 },
        field("purchase_order", "Ordered on", "采购订单", .lookup) { $0.target = "purchase_order"; $0.computed = true },
    ], titleField: "product", listColumns: ["product", "quantity", "supplier", "reason", "purchase_order"], defaultSort: "created_at")

    static var all: [EntityDefinition] {
        [supplier, supplierPrice, warehouse, stockRule, order, orderLine, receipt, receiptLine, purchaseReturn, returnLine, payment,
         stockLevel, movement, deliveryNote, deliveryLine, plan, planLine]
    }
}
