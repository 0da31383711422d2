import Foundation
import Logging
import Platform
import PostgresNIO

/// Demo records for the knowledge base: a sub-category, product and playbook articles in
/// Chinese and English (published, in review, draft), a pinned announcement and a discussion
/// with an accepted answer (``DiscussionDemoData``), each once.
enum KnowledgeDemoData {
    /// Markdown with the parts the article page renders: headings, a list, a table, a link, code.
    static let productBody = """
        ## 核心功能

        - **客户与联系人**：客户 360° 视图、跟进记录
        - **销售漏斗**：线索 → 商机 → 报价 → 订单 → 回款
        - *费用报销*与审批流

        | 模块 | 说明 | 版本 |
        |:-----|:-----|----:|
        | 销售 | 商机、报价、订单 | 1.0 |
        | 知识库 | 文章、公告、版本 | 0.3 |

        更多说明见 [产品手册](https://example.com/atrium/manual)。导入客户时使用 `UTF-8` 编码的 CSV 文件：

        ```
        name,phone,city
        北京华通科技有限公司,010-12345678,北京
        ```
        """

    @Sendable static func seed(_ demo: ModuleDemoContext) async throws {
        try await DocumentLibraryDemoData.seed(demo)
        try await articles(demo)
        try await DiscussionDemoData.seed(demo)
    }

    static func articles(_ demo: ModuleDemoContext) async throws {
        let store = ModuleStore(engine: demo.engine, actor: RecordEngine.Actor(user: demo.admin, access: .system),
                                connection: demo.connection, logger: demo.logger)
        guard try await store.all("kb_article").isEmpty else { return }
        let categories = Dictionary(try await store.all("kb_category").map { ($0.string("name_en") ?? "", $0.idText) }, uniquingKeysWith: { first, _ in first })
        guard let products = categories["Product material"], let playbook = categories["Sales playbook"], let faq = categories["FAQ"] else { return }
        let pricing = try await store.create("kb_category", ["name": .string("报价与折扣"), "name_en": .string("Pricing and discounts"),
                                                             "parent": .string(playbook), "position": .number(10),
                                                             // Pricing rules are for managers: published ones are shared with these roles only.
                                                             "readers": .string("roles"), "reader_roles": .array([.string("sales_director"), .string("sales_manager")])])
        let articles: [(String, String, String, String, String)] = [
            ("Atrium CRM 产品介绍", products, "面向中小企业的多租户 CRM：客户、线索、商机、报价、订单与回款。", productBody, "published"),
            ("First call checklist", playbook, "What to ask in the first call with a new lead.", "1. Budget\n2. Decision makers\n3. Timeline", "published"),
            ("折扣审批规则", pricing.idText, "超过 15% 的折扣需要销售总监批准。", "折扣 ≤ 10%：销售经理；10%–15%：销售总监；> 15%：总经理。", "in_review"),
            ("北京华通科技有限公司 拜访记录整理", playbook, "华通项目的关键联系人和决策流程。", "草稿，待补充。", "draft"),
            ("如何导入客户数据？", faq, "用 CSV 文件一次导入客户、联系人和产品。", "在列表页选择“导入”，上传 UTF-8 编码的 CSV 文件。", "published"),
        ]
        for (title, category, summary, body, status) in articles {
            let draft = try await store.create("kb_article", ["title": .string(title), "category": .string(category),
                                                              "summary": .string(summary), "body": .string(body)])
            guard status != "draft" else { continue }
            let published = try await store.update(draft, ["status": .string(status)])
            if body == productBody {
                // One published edit, so the article has a version to compare and restore.
                try await store.update(published, ["body": .string(productBody + "\n\n> 2026 年 12 月起支持公告阅读回执。")])
                for person in demo.people.values {
                    try await ArticleFeedback.vote(published.id, by: person.id, helpful: true, on: demo.connection, logger: demo.logger)
                }
            }
        }
        _ = try await store.create("announcement", [
            "title": .string("十二月销售冲刺启动 / December sales sprint"),
            "body": .string("本月目标：新增回款 200 万元。每周五下午复盘。\nTarget this month: CNY 2 million collected; review every Friday afternoon."),
            "importance": .string("important"), "pinned": .bool(true),
            "starts_on": .string(ChinaCalendar.day(0)), "ends_on": .string(ChinaCalendar.day(27)),
        ])
    }
}
