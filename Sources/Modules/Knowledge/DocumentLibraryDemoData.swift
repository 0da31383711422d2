import Foundation
import NIOCore
import Platform

/// Demo records for the document library (once): a folder tree — 产品资料 with a sub-folder,
/// 销售工具, 公司制度, and 客服资料 readable by the 客服部 department only — and a few small
/// documents whose bytes are made here (text and CSV; no binary files in the repository), one
/// of them with a second version. Skipped when the caller has no file store.
enum DocumentLibraryDemoData {
    static func seed(_ demo: ModuleDemoContext) async throws {
        guard let files = demo.files else { return }
        let store = ModuleStore(engine: demo.engine, actor: RecordEngine.Actor(user: demo.admin, access: .system),
                                connection: demo.connection, logger: demo.logger)
        guard try await store.all("doc_folder").isEmpty else { return }
        func folder(_ name: String, parent: Record? = nil, position: Int, _ extra: [String: JSONValue] = [:]) async throws -> Record {
            var values: [String: JSONValue] = ["name": .string(name), "position": .number(Decimal(position))]
            if let parent { values["parent"] = .string(parent.idText) }
            return try await store.create("doc_folder", values.merging(extra) { _, new in new })
        }
        let products = try await folder("产品资料", position: 10, ["description": .string("产品手册、规格书与报价单模板。")])
        let manuals = try await folder("产品手册", parent: products, position: 10)
        let sales = try await folder("销售工具", position: 20, ["description": .string("Sales decks, checklists and templates.")])
        let policies = try await folder("公司制度", position: 30)
        let service = try await OrganisationAdmin().departments(on: demo.connection, logger: demo.logger).first { $0.name == "客服部" }
        var readers: [String: JSONValue] = ["readers": .string("roles"), "reader_roles": .array([.string("service_agent")])]
        if let service { readers = ["readers": .string("departments"), "reader_department": .string(service.id.uuidString.lowercased())] }
        let restricted = try await folder("客服资料", position: 40, readers)

        let library = DocumentVersions.Library(store: store, attachments: Attachments(engine: demo.engine, files: files),
                                               policy: AttachmentPolicy(maxBytes: 1 << 20))
        func file(_ name: String, _ text: String) -> MultipartForm.File {
            MultipartForm.File.generated(name, ByteBuffer(string: text))
        }
        let manual = try await DocumentVersions.create(
            ["name": .string("北京华通科技有限公司产品手册"), "folder": .string(manuals.idText),
             "description": .string("华通项目定制版产品手册（第一版）。"), "tags": .string("手册, 华通, manual")],
            file: file("北京华通科技有限公司产品手册.txt", "Atrium CRM 产品手册 v1\n客户、线索、商机、报价、订单与回款。\n"), in: library)
        _ = try await DocumentVersions.upload(
            file("北京华通科技有限公司产品手册.txt", "Atrium CRM 产品手册 v2\n新增：知识库、公告阅读回执、文档中心。\n"), to: manual, in: library)
        _ = try await DocumentVersions.create(
            ["name": .string("Price list 2027"), "folder": .string(products.idText), "description": .string("List prices in CNY, valid from January."),
             "tags": .string("pricing, 报价")],
            file: file("price-list-2027.csv", "product,price_cny\nAtrium Basic,199\nAtrium Pro,399\n"), in: library)
        _ = try await DocumentVersions.create(
            ["name": .string("首次拜访清单 First visit checklist"), "folder": .string(sales.idText), "tags": .string("拜访, checklist")],
            file: file("first-visit-checklist.txt", "1. 预算 Budget\n2. 决策人 Decision makers\n3. 时间表 Timeline\n"), in: library)
        _ = try await DocumentVersions.create(
            ["name": .string("差旅报销制度"), "folder": .string(policies.idText), "description": .string("出差标准与报销流程。"), "tags": .string("制度, 报销")],
            file: file("差旅报销制度.txt", "一线城市住宿标准 500 元/晚；报销须在出差结束后 30 日内提交。\n"), in: library)
        _ = try await DocumentVersions.create(
            ["name": .string("售后工单处理规范"), "folder": .string(restricted.idText), "description": .string("仅客服部可见：工单分级与响应时限。"),
             "tags": .string("客服, SLA")],
            file: file("service-sla.csv", "priority,first_response_hours,resolve_hours\nP1,1,8\nP2,4,24\nP3,8,72\n"), in: library)
    }
}
