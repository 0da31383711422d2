import Foundation
import Platform

/// The sales module's business rules, as record hooks on the shared engine. Each runs inside
/// the write's transaction; an error aborts the whole write (nothing partly stored).
enum SalesRules {
    static var hooks: [(String, any RecordHooks)] {
        [("opportunity", OpportunityRules()), ("stage_change", DerivedOnly(message: "stage history is written when an opportunity changes stage")),
         ("quote_line", LineRules(parent: "quote")), ("order_line", LineRules(parent: "sales_order")),
         ("quote", QuoteRules()), ("sales_order", OrderRules()), ("receipt", ReceiptRules()),
         ("payment_installment", InstallmentRules()), ("lead", LeadRules()), ("account", AccountRules()),
         ("contract", DateRangeRule(start: "start_date", end: "end_date")), ("sales_target", TargetRules())]
    }

    static func isDerived(_ context: HookContext) -> Bool { context.actor.access.writesComputed }

    static func now() -> String { Date().formatted(.iso8601) }

    static func today() -> String { ChinaCalendar.today() }
}

/// Records only the module's rules create, change or delete.
struct DerivedOnly: RecordHooks {
    let message: String

    func beforeValidate(_ write: inout RecordWrite) async throws {
        guard SalesRules.isDerived(write.context) else {
            throw AtriumError(status: .forbidden, code: "computed_record", message: message)
        }
    }

    func beforeDelete(_ record: Record, context: HookContext) async throws {
        guard SalesRules.isDerived(context) else {
            throw AtriumError(status: .forbidden, code: "computed_record", message: message)
        }
    }
}

struct DateRangeRule: RecordHooks {
    let start: String
    let end: String

    func beforeValidate(_ write: inout RecordWrite) async throws {
        if let from = write.value(start)?.stringValue, let to = write.value(end)?.stringValue, to < from {
            throw SalesErrors.invalid(end, "must not be before \(start)", key: "end_before_start")
        }
    }
}

enum SalesErrors {
    static func invalid(_ field: String, _ message: String, key: String, _ arguments: [String: String] = [:]) -> AtriumError {
        .module("sales", .unprocessableContent, code: "invalid_field", field: field, "\(field): \(message)", key: key, arguments)
    }
}
