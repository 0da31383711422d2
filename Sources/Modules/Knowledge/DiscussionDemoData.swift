import Foundation
import Platform

/// A discussion board with one Chinese question that has an accepted answer (once): the
/// salesperson asks, the service agent and the manager reply, the salesperson accepts.
enum DiscussionDemoData {
    static func seed(_ demo: ModuleDemoContext) async throws {
        let admin = ModuleStore(engine: demo.engine, actor: RecordEngine.Actor(user: demo.admin, access: .system),
                                connection: demo.connection, logger: demo.logger)
        guard try await admin.all("kb_board").isEmpty else { return }
        let faq = try await admin.all("kb_category").first { $0.string("name_en") == "FAQ" }
        let board = try await admin.create("kb_board", ["name": .string("产品使用问答"),
                                                        "description": .string("使用 Atrium 时遇到的问题，大家一起解答。解决后可整理成知识文章。"),
                                                        "category": faq.map { .string($0.idText) } ?? .null, "position": .number(10)])
        let asker = demo.people["salesperson"] ?? demo.admin
        let agent = demo.people["service_agent"] ?? demo.admin
        let manager = demo.people["sales_manager"] ?? demo.admin
        func actor(_ user: AuthenticatedUser) -> RecordEngine.Actor { RecordEngine.Actor(user: user, access: .system) }
        let topic = try await admin.acting(as: actor(asker)).create("kb_topic", [
            "title": .string("导入客户时提示“电话格式不正确”怎么办？"), "board": .string(board.idText),
            "body": .string("从旧系统导出的客户表格，导入时有 30 多行提示**电话格式不正确**，比如 `010 6253 2288` 和 `(021)5888-1234`。需要一行一行改吗？"),
        ])
        let comments = RecordComments(engine: demo.engine)
        let answer = try await comments.post("""
            不用一行一行改。导入前在表格里把电话列统一成“区号-号码”，例如 010-62532288；手机号直接写 11 位数字。\
            先勾选“只检查不导入”（dry run）试一次，系统会列出所有有问题的行号，一次改完再正式导入。
            """, on: "kb_topic", id: topic.id, as: actor(agent), on: demo.connection, logger: demo.logger)
        _ = try await comments.post("补充一点：带分机号的写成 010-62532288-806，系统也能识别。@[\(asker.displayName)](\(asker.id.uuidString.lowercased())) 可以试试。",
                                    on: "kb_topic", id: topic.id, as: actor(manager), on: demo.connection, logger: demo.logger)
        let store = ModuleStore(engine: demo.engine, actor: actor(asker), connection: demo.connection, logger: demo.logger)
        _ = try await TopicAnswers.accept(answer.id, on: topic.id, store: store)
    }
}
