import Foundation
import Platform

/// The service module's entities (服务请求、队列、SLA、工作记录、客户资产), declared as metadata
/// on the shared record engine. The account, contact, product and order lookups point at the
/// sales module's entities without depending on it; service tasks are the activities module's
/// `task` records related to a case.
enum ServiceEntities: EntityDeclarations {
    static let caseTypes = options([("request", "Service request", "服务请求"), ("complaint", "Complaint", "投诉"),
                                    ("consultation", "Consultation", "咨询"), ("repair", "Repair", "报修")])
    static let channels = options([("phone", "Phone", "电话"), ("email", "E-mail", "邮件"), ("web", "Web form", "网页表单"),
                                   ("wechat", "WeChat", "微信"), ("visit", "Visit", "上门")])
    static let priorities = options([("urgent", "Urgent", "紧急"), ("high", "High", "高"), ("normal", "Normal", "普通"), ("low", "Low", "低")])
    static let statuses = options([("new", "New", "新建"), ("assigned", "Assigned", "已分派"), ("in_progress", "In progress", "处理中"),
                                   ("waiting_customer", "Waiting for customer", "等待客户"), ("resolved", "Resolved", "已解决"),
                                   ("closed", "Closed", "已关闭")])
    static let slaStatuses = options([("ok", "On time", "正常"), ("warning", "At risk", "即将超时"), ("breached", "Breached", "已超时"),
                                      ("paused", "Paused", "已暂停")])
    static let rootCauses = options([("product_defect", "Product defect", "产品缺陷"), ("usage", "Usage question", "使用问题"),
                                     ("configuration", "Configuration", "配置问题"), ("installation", "Installation", "安装问题"),
                                     ("logistics", "Logistics", "物流问题"), ("service_attitude", "Service attitude", "服务态度"),
                                     ("other", "Other", "其他")])
    static let assignmentRules = options([("round_robin", "Round robin", "轮流分派"), ("least_open", "Fewest open cases", "最少未结"),
                                          ("manual", "Manual (agents take cases)", "手动领取")])
    static let workKinds = options([("remote", "Remote", "远程"), ("phone", "Phone", "电话"), ("onsite", "On site", "上门"), ("other", "Other", "其他")])
    static let weekdayOptions = options([("1", "Monday", "周一"), ("2", "Tuesday", "周二"), ("3", "Wednesday", "周三"), ("4", "Thursday", "周四"),
                                         ("5", "Friday", "周五"), ("6", "Saturday", "周六"), ("7", "Sunday", "周日")])

    static let serviceCase = EntityDefinition(key: "service_case", labels: ["en": "Service case", "zh-CN": "服务工单"], fields: [
        field("number", "Number", "编号", .autoNumber) { $0.format = "CS-{YYYY}-{seq:5}"; $0.searchable = true },
        field("subject", "Subject", "主题", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 200 },
        field("case_type", "Type", "类型", .picklist) { $0.options = caseTypes; $0.defaultValue = .string("request"); $0.required = true; $0.filterable = true },
        field("channel", "Channel", "渠道", .picklist) { $0.options = channels; $0.defaultValue = .string("phone"); $0.filterable = true },
        field("priority", "Priority", "优先级", .picklist) { $0.options = priorities; $0.defaultValue = .string("normal"); $0.required = true; $0.filterable = true },
        field("status", "Status", "状态", .picklist) { $0.options = statuses; $0.defaultValue = .string("new"); $0.required = true; $0.filterable = true },
        field("account", "Customer", "客户", .lookup) { $0.target = "account"; $0.filterable = true },
        field("contact", "Contact", "联系人", .lookup) { $0.target = "contact"; $0.filterable = true },
        field("asset", "Asset", "客户资产", .lookup) { $0.target = "service_asset"; $0.filterable = true },
        field("related_order", "Related order", "关联订单", .lookup) { $0.target = "sales_order"; $0.filterable = true },
        field("related_opportunity", "Related opportunity", "关联商机", .lookup) { $0.target = "opportunity"; $0.filterable = true },
        field("queue", "Queue", "服务队列", .lookup) { $0.target = "service_queue"; $0.filterable = true },
        field("description", "Description", "问题描述", .longText) { $0.searchable = true; $0.maxLength = 20_000 },
        field("resolution", "Resolution", "解决方案", .longText) { $0.searchable = true; $0.maxLength = 20_000 },
        field("root_cause", "Root cause", "根本原因", .picklist) { $0.options = rootCauses; $0.filterable = true },
        field("out_of_warranty", "Out of warranty", "已过保", .boolean) { $0.computed = true; $0.filterable = true },
        field("opened_at", "Opened at", "受理时间", .datetime) { $0.computed = true; $0.filterable = true },
        field("assigned_at", "Assigned at", "分派时间", .datetime) { $0.computed = true },
        field("first_response_at", "First response at", "首次响应时间", .datetime) { $0.computed = true; $0.filterable = true },
        field("resolved_at", "Resolved at", "解决时间", .datetime) { $0.computed = true; $0.filterable = true },
        field("closed_at", "Closed at", "关闭时间", .datetime) { $0.computed = true; $0.filterable = true },
        field("response_due_at", "First response due", "响应截止", .datetime) { $0.computed = true; $0.filterable = true },
        field("resolution_due_at", "Resolution due", "解决截止", .datetime) { $0.computed = true; $0.filterable = true },
        field("response_target_minutes", "First response target (business minutes)", "响应时限（工作分钟）", .number) { $0.computed = true; $0.scale = 0 },
        field("resolution_target_minutes", "Resolution target (business minutes)", "解决时限（工作分钟）", .number) { $0.computed = true; $0.scale = 0 },
        field("sla_warning_percent", "Warn at (% of the target used)", "预警阈值（%）", .number) { $0.computed = true; $0.scale = 0 },
        field("sla_status", "SLA status", "SLA 状态", .picklist) { $0.options = slaStatuses; $0.computed = true; $0.filterable = true },
        field("paused_at", "Waiting since", "暂停起始", .datetime) { $0.computed = true },
        field("paused_minutes", "Paused (business minutes)", "暂停时长（工作分钟）", .number) { $0.computed = true; $0.scale = 0 },
        field("response_minutes", "Time to first response (business minutes)", "首次响应用时（工作分钟）", .number) { $0.computed = true; $0.scale = 0 },
        field("resolution_minutes", "Time to resolution (business minutes)", "解决用时（工作分钟）", .number) { $0.computed = true; $0.scale = 0 },
        field("work_minutes", "Work logged (minutes)", "工作时长（分钟）", .number) { $0.computed = true; $0.scale = 0 },
        field("reopen_count", "Times reopened", "重开次数", .number) { $0.computed = true; $0.scale = 0 },
        field("satisfaction", "Satisfaction (1–5)", "满意度（1–5）", .number) { $0.computed = true; $0.scale = 0; $0.filterable = true },
        field("satisfaction_comment", "Customer comment", "客户评价", .longText) { $0.computed = true; $0.maxLength = 2000 },
        field("surveyed_at", "Survey answered at", "评价时间", .datetime) { $0.computed = true },
    ], titleField: "subject", listColumns: ["number", "subject", "case_type", "priority", "status", "sla_status", "account", "owner_id", "resolution_due_at"],
    defaultSort: "-created_at")

    static let queue = EntityDefinition(key: "service_queue", labels: ["en": "Service queue", "zh-CN": "服务队列"], fields: [
        field("name", "Name", "名称", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 80; $0.unique = true },
        field("rule", "Assignment rule", "分派规则", .picklist) { $0.options = assignmentRules; $0.defaultValue = .string("round_robin"); $0.required = true },
        field("team", "Team (department)", "所属部门", .department),
        field("supervisor", "Supervisor", "主管", .user) { $0.filterable = true },
        field("active", "Active", "启用", .boolean) { $0.defaultValue = .bool(true) },
        field("last_assigned", "Last assigned to", "上次分派给", .user) { $0.computed = true },
        field("description", "Description", "说明", .longText) { $0.maxLength = 2000 },
    ], titleField: "name", listColumns: ["name", "rule", "team", "supervisor", "active"], defaultSort: "name")

    static let queueMember = EntityDefinition(key: "service_queue_member", labels: ["en": "Queue member", "zh-CN": "队列成员"], fields: [
        field("queue", "Queue", "服务队列", .lookup) { $0.target = "service_queue"; $0.required = true; $0.filterable = true },
        field("member", "Agent", "客服", .user) { $0.required = true; $0.filterable = true },
        field("active", "Takes new cases", "接收新工单", .boolean) { $0.defaultValue = .bool(true); $0.filterable = true },
    ], titleField: "member", listColumns: ["queue", "member", "active"], defaultSort: "created_at")

    static let slaPolicy = EntityDefinition(key: "service_sla_policy", labels: ["en": "SLA policy", "zh-CN": "SLA 策略"], fields: [
        field("name", "Name", "名称", .text) { $0.required = true; $0.maxLength = 80 },
        field("priority", "Priority", "优先级", .picklist) { $0.options = priorities; $0.required = true; $0.filterable = true },
        field("case_type", "Only for type", "仅限类型", .picklist) { $0.options = caseTypes; $0.filterable = true },
        field("response_minutes", "First response within (business minutes)", "首次响应时限（工作分钟）", .number) {
            $0.required = true; $0.scale = 0; $0.min = 1; $0.max = 1_000_000
        },
        field("resolution_minutes", "Resolution within (business minutes)", "解决时限（工作分钟）", .number) {
            $0.required = true; $0.scale = 0; $0.min = 1; $0.max = 1_000_000
        },
        field("warning_percent", "Warn at (% of the target used)", "预警阈值（已用时限 %）", .number) {
            $0.scale = 0; $0.min = 1; $0.max = 99; $0.defaultValue = .string("80")
        },
        field("active", "Active", "启用", .boolean) { $0.defaultValue = .bool(true) },
    ], titleField: "name", listColumns: ["name", "priority", "case_type", "response_minutes", "resolution_minutes", "active"], defaultSort: "name")

    /// The tenant's service settings (one record): working hours and the reopen window.
    static let settings = EntityDefinition(key: "service_settings", labels: ["en": "Service settings", "zh-CN": "服务设置"], fields: [
        field("name", "Name", "名称", .text) { $0.required = true; $0.maxLength = 80 },
        field("work_start", "Working day starts (HH:MM)", "上班时间", .text) { $0.required = true; $0.pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$" },
        field("work_end", "Working day ends (HH:MM)", "下班时间", .text) { $0.required = true; $0.pattern = "^([01][0-9]|2[0-4]):[0-5][0-9]$" },
        field("work_days", "Working days", "工作日", .multiPicklist) { $0.options = weekdayOptions },
        field("china_calendar", "Follow China's public holidays", "按国家法定节假日", .boolean) { $0.defaultValue = .bool(true) },
        field("time_zone", "Time zone", "时区", .text) { $0.defaultValue = .string("Asia/Shanghai"); $0.maxLength = 60 },
        field("reopen_days", "Reopen within (days after resolution)", "可重开天数（解决后）", .number) {
            $0.scale = 0; $0.min = 0; $0.max = 365; $0.defaultValue = .string("7")
        },
    ], titleField: "name", listColumns: ["name", "work_start", "work_end", "reopen_days"], defaultSort: "created_at")

    /// The tenant's own days off and working days on top of the China calendar.
    static let holiday = EntityDefinition(key: "service_holiday", labels: ["en": "Service calendar day", "zh-CN": "服务日历"], fields: [
        field("day", "Day", "日期", .date) { $0.required = true; $0.filterable = true; $0.unique = true },
        field("kind", "Kind", "类型", .picklist) {
            $0.options = options([("holiday", "Day off", "休息日"), ("workday", "Working day", "工作日")]); $0.required = true; $0.defaultValue = .string("holiday")
        },
        field("name", "Name", "名称", .text) { $0.maxLength = 80 },
    ], titleField: "name", listColumns: ["day", "kind", "name"], defaultSort: "day")

    static let workRecord = EntityDefinition(key: "service_work_record", labels: ["en": "Work record", "zh-CN": "工作记录"], fields: [
        field("service_case", "Case", "服务工单", .lookup) { $0.target = "service_case"; $0.required = true; $0.filterable = true },
        field("summary", "What was done", "处理内容", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 500 },
        field("kind", "Kind", "方式", .picklist) { $0.options = workKinds; $0.defaultValue = .string("remote"); $0.filterable = true },
        field("minutes", "Minutes spent", "用时（分钟）", .number) { $0.required = true; $0.scale = 0; $0.min = 1; $0.max = 1440 },
        field("performed_at", "When", "处理时间", .datetime) { $0.filterable = true },
        field("notes", "Notes", "备注", .longText) { $0.maxLength = 10_000 },
    ], titleField: "summary", listColumns: ["performed_at", "service_case", "summary", "kind", "minutes", "owner_id"], defaultSort: "-performed_at")

    static let asset = EntityDefinition(key: "service_asset", labels: ["en": "Installed asset", "zh-CN": "客户资产"], fields: [
        field("name", "Name", "名称", .text) { $0.required = true; $0.searchable = true; $0.maxLength = 200 },
        field("account", "Customer", "客户", .lookup) { $0.target = "account"; $0.required = true; $0.filterable = true },
        field("product", "Product", "产品", .lookup) { $0.target = "product"; $0.filterable = true },
        field("serial_number", "Serial number", "序列号", .text) { $0.searchable = true; $0.unique = true; $0.maxLength = 100 },
        field("install_date", "Installed on", "安装日期", .date) { $0.filterable = true },
        field("warranty_end", "Warranty until", "保修截止", .date) { $0.filterable = true },
        field("location", "Location", "安装地点", .text) { $0.maxLength = 200 },
    ], titleField: "name", listColumns: ["name", "account", "product", "serial_number", "install_date", "warranty_end"], defaultSort: "name")

    static let all: [EntityDefinition] = [
        serviceCase, referenceData(publicRead(queue)), referenceData(publicRead(queueMember)), referenceData(publicRead(slaPolicy)),
        referenceData(publicRead(settings)), referenceData(publicRead(holiday)), workRecord, asset,
    ]

    static func referenceData(_ entity: EntityDefinition) -> EntityDefinition {
        var entity = entity
        entity.referenceData = true
        return entity
    }

    static let openStatuses = ["new", "assigned", "in_progress", "waiting_customer"]
}
