import Foundation
import Hummingbird
import Platform

/// The purchasing and stock module (采购与库存): suppliers with price lists, purchase orders
/// approved through the platform's approval engine, goods receipts and purchase returns,
/// payables and payments, warehouses with stock kept only by movements at moving-average
/// cost, sales delivery notes against confirmed sales orders, reorder suggestions and
/// purchase plans. Entities on the shared record engine, rules as hooks; no CRUD SQL and no
/// permission checks of its own.
public enum PurchasingModule {
    public static let manifest = ModuleManifest(
        id: "purchasing", version: "0.2.0", names: ["en": "Purchasing", "zh-CN": "采购"], depends: ["sales"],
        entities: PurchasingEntities.all, hooks: hooks, routes: PurchasingRoutes(), setUp: PurchasingSetUp.run,
        pages: [ModulePage(path: "/app/purchasing/stock", labelKey: "purchasing.nav.stock", requires: "stock_level"),
                ModulePage(path: "/app/purchasing/suggestions", labelKey: "purchasing.nav.suggestions", requires: "purchase_plan")],
        actions: [ModuleAction(entity: "purchase_order", labelKey: "purchasing.actions.open_order", path: "/app/purchasing/orders/{id}", right: .read)],
        approvals: [PurchaseOrderRules.binding],
        defaultGrants: defaultGrants, entityGrants: entityGrants,
        roles: [ModuleRole(key: "purchaser", labels: ["en": "Purchaser", "zh-CN": "采购员"], customGrants: DefaultRoles.working(.own))],
        demoData: PurchasingDemoData.seed)

    static var hooks: [(String, any RecordHooks)] {
        [("purchase_order", PurchaseOrderRules.OrderRules()), ("purchase_order_line", PurchaseOrderRules.LineRules()),
         ("stock_movement", StockLedger.MovementRules()), ("stock_level", StockLedger.LevelRules()),
         ("stock_receipt", GoodsReceiptRules.ReceiptHeaderRules()), ("stock_receipt_line", GoodsReceiptRules.ReceiptLineRules()),
         ("purchase_return", GoodsReceiptRules.ReturnHeaderRules()), ("purchase_return_line", GoodsReceiptRules.ReturnLineRules()),
         ("supplier_payment", Payables.PaymentRules()),
         ("delivery_note", DeliveryRules.NoteRules()), ("delivery_note_line", DeliveryRules.LineRules())]
    }

    /// The module's rights per default role. Purchase prices, costs and payables live only in
    /// this module's entities, so a role without a grant here (the salesperson, the sales
    /// manager) never reads them: the entities answer 404 to it. These are the grants tenants
    /// had since the purchasing placeholder (ModuleGrantsTests pins them).
    static let defaultGrants: [String: [String: DataScope]] = [
        "administrator": DefaultRoles.working(.all),
        "purchaser": DefaultRoles.working(.own),
        "finance": DefaultRoles.readAll,
        "read_only": DefaultRoles.rights([(.read, .all)]),
    ]

    /// What the purchaser needs beyond its own documents: the shared reference data and the
    /// stock (read by the whole team), the product catalog it orders, and the sales orders it
    /// delivers and plans for (read only; sales grants the purchaser nothing).
    static let entityGrants: [String: [String: [String: DataScope]]] = [
        "purchaser": [
            "supplier": DefaultRoles.working(.all), "supplier_price": DefaultRoles.working(.all), "warehouse": DefaultRoles.working(.all),
            "stock_rule": DefaultRoles.working(.all), "stock_level": DefaultRoles.readAll,
            "stock_movement": DefaultRoles.rights([(.read, .all), (.create, .all), (.export, .all)]),
            "product": DefaultRoles.rights([(.read, .all)]), "sales_order": DefaultRoles.rights([(.read, .all)]),
            "order_line": DefaultRoles.rights([(.read, .all)]),
        ],
        "finance": ["supplier_payment": DefaultRoles.rights([(.read, .all), (.create, .all), (.delete, .all), (.export, .all)])],
    ]

    /// Whether the tenant of the request has the module; its routes answer 404 otherwise.
    static func requireEnabled(_ store: ModuleStore) async throws {
        guard try await TenantModules.enabled(on: store.connection, logger: store.logger).contains(manifest.id) else {
            throw AtriumError(status: .notFound, code: "not_found", message: "the purchasing module is not enabled for this company")
        }
    }
}

/// What a tenant gets when it enables the module: a main warehouse and the default purchase
/// order approval (the buyer's manager — skipped for a buyer without one —, then finance for
/// orders over 50 000.00), each once.
enum PurchasingSetUp {
    static let run: ModuleSetUp = { engine, actor, connection, logger in
        let store = ModuleStore(engine: engine, actor: actor, connection: connection, logger: logger)
        if try await store.all("warehouse").isEmpty {
            _ = try await store.create("warehouse", ["code": .string("WH01"), "name": .string("主仓库")])
        }
        let processes = ApprovalProcesses(engine: engine)
        guard try await processes.list(entity: "purchase_order", on: connection, logger: logger).isEmpty else { return }
        let steps = [
            ApprovalProcess.Step(name: "直属上级", approvers: [.init(kind: .manager)], skipIfNoApprover: true),
            ApprovalProcess.Step(name: "财务审核", approvers: [.init(kind: .role, key: "finance")],
                                 condition: ModuleStore.op("total", "gt", .number(50_000)), skipIfNoApprover: true),
        ]
        _ = try await processes.save(ApprovalProcess(entity: "purchase_order", name: "采购订单审批", priority: 1000, steps: steps),
                                     as: actor, on: connection, logger: logger)
    }
}
