import Foundation
import Hummingbird
import Platform

/// Web pages of the expenses module: the payment form finance uses on an approved claim, and
/// the spending analysis with charts and CSV export.
struct ExpensesPages: ModuleHandlers {
    let web: WebApp

    func register(on router: RouterGroup<AtriumContext>) {
        router.get("app/expenses/claims/:id/pay", use: payForm)
        router.post("app/expenses/claims/:id/pay", use: pay)
        router.get("app/expenses/analysis", use: analysis)
        router.get("app/expenses/analysis.csv", use: analysisCSV)
    }

    func payValues(_ claim: Record, _ page: WebApp.Page, form: [String: String], error: String?) -> [String: Any] {
        let lang = page.locale
        var values: [String: Any] = [
            "title": web.t("expenses.pay.title", lang),
            "claim": ["id": claim.idText, "title": claim.string("title") ?? "", "number": claim.string("number") ?? "",
                      "total": DisplayFormat.money(Money.text(claim.money("total")), currency: "CNY")],
            "paid_on": form["paid_on"] ?? ExpenseAnalysis.today(), "reference": form["reference"] ?? "",
            "methods": ExpensesEntities.paymentMethods.map { option in
                ["value": option.value, "label": DisplayFormat.label(option.labels, locale: lang, fallback: option.value),
                 "selected": option.value == (form["method"] ?? "bank_transfer")]
            },
        ]
        if let error { values["error"] = error }
        return values
    }

    @Sendable func payForm(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        return try await web.page(request, context, current: "expense_claim") { page, db in
            let claim = try await store(page, db).get("expense_claim", id)
            return web.render("expenses_pay", page, payValues(claim, page, form: [:], error: nil))
        }
    }

    @Sendable func pay(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let id = try Self.id(context)
        let form = try await FormBody.parse(request, limit: 16 * 1024)
        return try await web.page(request, context, form: form, current: "expense_claim") { page, db in
            let store = store(page, db)
            let payment = ExpenseActions.Payment(paidOn: form["paid_on"], method: form["method"], reference: form["reference"])
            do {
                _ = try await ExpenseActions.pay(id, payment, store: store)
            } catch let error as AtriumError where error.status == .unprocessableContent || error.status == .conflict {
                let claim = try await store.get("expense_claim", id)
                return web.render("expenses_pay", page, status: error.status,
                                  payValues(claim, page, form: form, error: web.message(error, locale: page.locale, label: nil)))
            }
            return WebApp.redirect("/app/expense_claim/\(id.uuidString.lowercased())?notice=saved")
        }
    }

    @Sendable func analysis(_ request: Request, context: AtriumContext) async throws -> Response {
        guard context.identity != nil else { return WebApp.redirect("/login") }
        let (from, to) = try ExpenseAnalysis.period(request)
        return try await web.page(request, context, current: "/app/expenses/analysis") { page, db in
            let lang = page.locale
            let result = try await ExpenseAnalysis.load(from: from, to: to, store: store(page, db), locale: lang)
            func money(_ value: Decimal) -> String { DisplayFormat.money(Money.text(value), currency: "CNY") }
            let sections: [[String: Any]] = ExpenseAnalysis.dimensions.map { dimension in
                let rows = result.dimensions[dimension] ?? []
                var section: [String: Any] = [
                    "key": dimension, "title": web.t("expenses.analysis.by_\(dimension)", lang),
                    "rows": rows.map { ["label": $0.label, "count": $0.count, "amount": money($0.amount)] },
                    "empty": rows.isEmpty, "csv": "/app/expenses/analysis.csv?from=\(from)&to=\(to)&by=\(dimension)",
                ]
                if dimension == "month" || dimension == "category" {
                    section["chart"] = Charts.bars(rows.prefix(12).map { ($0.label, $0.amount, Money.text($0.amount, scale: 0)) })
                }
                return section
            }
            return web.render("expenses_analysis", page, [
                "title": web.t("expenses.nav.analysis", lang), "from": from, "to": to, "total": money(result.total), "sections": sections,
            ])
        }
    }

    @Sendable func analysisCSV(_ request: Request, context: AtriumContext) async throws -> Response {
        let (from, to) = try ExpenseAnalysis.period(request)
        let by = request.uri.queryParameters["by"].map(String.init) ?? "category"
        guard ExpenseAnalysis.dimensions.contains(by) else {
            throw AtriumError.validation(field: "by", "must be one of \(ExpenseAnalysis.dimensions.joined(separator: ", "))")
        }
        let lang = context.identity?.user.locale ?? "zh-CN"
        let csv = try await run(request, context) { store in
            let result = try await ExpenseAnalysis.load(from: from, to: to, store: store, locale: lang)
            func cell(_ text: String) -> String {
                // Quote every cell; a leading =, +, - or @ is defused so a spreadsheet shows it as text.
                let safe = text.first.map { "=+-@".contains($0) } == true ? "'" + text : text
                return "\"" + safe.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            var lines = [[by, "count", "amount_cny"].map(cell).joined(separator: ",")]
            for row in result.dimensions[by] ?? [] {
                lines.append([cell(row.label), String(row.count), Money.text(row.amount)].joined(separator: ","))
            }
            return "\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n"
        }
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                               .contentDisposition: "attachment; filename=\"expenses-\(by)-\(from)-\(to).csv\""],
                        body: .init(byteBuffer: ByteBuffer(string: csv)))
    }
}
