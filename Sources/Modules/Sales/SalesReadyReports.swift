import Platform

/// The sales module's ready-made reports (一键报表) and who sees them on the home page.
enum SalesReadyReports {
    static let sellers = ["salesperson", "sales_manager", "sales_director", "administrator"]
    static let leaders = ["sales_manager", "sales_director", "administrator"]

    static let all = [
        ModuleReport(key: "sales.pipeline_by_stage", names: ["en": "Pipeline by stage", "zh-CN": "各阶段商机金额"], definition: """
            {"entity": "opportunity", "group_by": [{"field": "stage"}], "measures": [{"fn": "sum", "field": "amount"}, {"fn": "count"}], "chart": "bar"}
            """, roles: sellers),
        ModuleReport(key: "sales.orders_by_month", names: ["en": "Orders by month", "zh-CN": "月度订单金额"], definition: """
            {"entity": "sales_order", "group_by": [{"field": "order_date", "bucket": "month"}], "measures": [{"fn": "sum", "field": "total"}, {"fn": "count"}],
             "filter": {"and": [{"field": "kind", "op": "eq", "value": "order"}, {"field": "status", "op": "in", "value": ["confirmed", "delivered", "closed"]}]},
             "chart": "line"}
            """, roles: sellers + ["finance"]),
        ModuleReport(key: "sales.top_customers", names: ["en": "Top 10 customers by orders", "zh-CN": "客户订单金额前十"], definition: """
            {"entity": "sales_order", "group_by": [{"field": "account"}], "measures": [{"fn": "sum", "field": "total"}],
             "filter": {"and": [{"field": "kind", "op": "eq", "value": "order"}, {"field": "status", "op": "in", "value": ["confirmed", "delivered", "closed"]}]},
             "sort": "-value", "limit": 10, "chart": "bar"}
            """, roles: leaders),
        ModuleReport(key: "sales.outstanding_by_customer", names: ["en": "Outstanding receivables by customer", "zh-CN": "客户应收余额"], definition: """
            {"entity": "sales_order", "group_by": [{"field": "account"}], "measures": [{"fn": "sum", "field": "outstanding"}],
             "filter": {"field": "outstanding", "op": "gt", "value": 0}, "sort": "-value", "limit": 10, "chart": "bar"}
            """, roles: ["sales_manager", "sales_director", "administrator", "finance"]),
        ModuleReport(key: "sales.lost_reasons", names: ["en": "Why deals were lost", "zh-CN": "输单原因分析"], definition: """
            {"entity": "opportunity", "group_by": [{"field": "lost_reason"}], "measures": [{"fn": "count"}, {"fn": "sum", "field": "amount"}],
             "filter": {"field": "lost_reason", "op": "is_empty", "value": false}, "sort": "-value", "chart": "pie"}
            """, roles: leaders),
    ]
}
