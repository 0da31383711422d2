import Platform

/// The expenses module's ready-made reports.
enum ExpensesReadyReports {
    static let all = [
        ModuleReport(key: "expenses.by_category", names: ["en": "Expenses by category", "zh-CN": "各类别费用"], definition: """
            {"entity": "expense_line", "group_by": [{"field": "category"}], "measures": [{"fn": "sum", "field": "amount_cny"}, {"fn": "count"}],
             "sort": "-value", "chart": "pie"}
            """, roles: ["finance", "administrator"]),
        ModuleReport(key: "expenses.by_month", names: ["en": "Expenses by month", "zh-CN": "月度费用"], definition: """
            {"entity": "expense_line", "group_by": [{"field": "date", "bucket": "month"}], "measures": [{"fn": "sum", "field": "amount_cny"}], "chart": "line"}
            """, roles: ["finance"]),
    ]
}
