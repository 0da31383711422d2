import Foundation
import Platform

/// Demo records for marketing: a completed trade show and an active seminar with members,
/// cost lines, responses (which made leads), a segment, a template, a web form, a plan with
/// budgets per campaign type and a competitor — and an opportunity from a trade-show lead won,
/// so the results page shows real leads, cost per lead and ROI (once).
enum MarketingDemoData {
    @Sendable static func seed(_ demo: ModuleDemoContext) async throws {
        let store = ModuleStore(engine: demo.engine, actor: RecordEngine.Actor(user: demo.admin, access: .system),
                                connection: demo.connection, logger: demo.logger)
        guard try await store.all("campaign").isEmpty else { return }
        func day(_ offset: Int) -> String { ChinaCalendar.day(offset) }
        let plan = try await store.create("marketing_plan", ["name": .string("\(day(0).prefix(4)) 年度市场计划 / Marketing plan"),
                                                             "starts_on": .string("\(day(0).prefix(4))-01-01"), "ends_on": .string("\(day(0).prefix(4))-12-31"),
                                                             "goals": .string("新增线索 500 条，展会与研讨会带来 30% 的商机。")])
        for (type, budget) in [("trade_show", "120000"), ("seminar", "30000"), ("mass_mailing", "5000")] {
            _ = try await store.create("marketing_plan_budget", ["plan": .string(plan.idText), "campaign_type": .string(type), "budget": .string(budget)])
        }
        var show = try await store.create("campaign", [
            "name": .string("上海国际工业自动化展 / Shanghai automation fair"), "campaign_type": .string("trade_show"), "status": .string("active"),
            "start_date": .string(day(-40)), "end_date": .string(day(-37)), "location": .string("上海国家会展中心"), "plan": .string(plan.idText),
            "budget": .string("100000"), "planned_cost": .string("90000"), "expected_revenue": .string("600000"),
            "audience": .string("制造业 IT 负责人 / manufacturing IT heads"), "content": .string("展位 8.1H-A23，产品演示与现场咨询。"),
        ])
        for (description, category, amount) in [("展位费 booth", "venue", "52000.00"), ("搭建与物料 stand and print", "printing", "18500.50"),
                                                 ("差旅 travel", "travel", "9620.30")] {
            _ = try await store.create("campaign_cost", ["campaign": .string(show.idText), "description": .string(description),
                                                         "category": .string(category), "incurred_on": .string(day(-38)), "amount": .string(amount)])
        }
        let seminar = try await store.create("campaign", [
            "name": .string("数字化销售管理研讨会 / Digital sales seminar"), "campaign_type": .string("seminar"), "status": .string("active"),
            "start_date": .string(day(10)), "end_date": .string(day(10)), "location": .string("北京国贸大酒店"), "plan": .string(plan.idText),
            "budget": .string("20000"), "planned_cost": .string("15000"), "expected_revenue": .string("200000"),
            "audience": .string("销售总监 / sales directors"), "content": .string("客户案例分享与 Atrium 演示。"),
        ])
        _ = try await store.create("campaign_cost", ["campaign": .string(seminar.idText), "description": .string("场地 venue"), "category": .string("venue"),
                                                     "incurred_on": .string(day(-5)), "amount": .string("8800.00")])
        let contacts = try await store.all("contact", sort: "name")
        for contact in contacts.prefix(4) {
            _ = try await store.create("campaign_member", ["campaign": .string(seminar.idText), "contact": .string(contact.idText), "status": .string("sent")])
        }
        if let first = contacts.first {
            _ = try await store.create("campaign_response", ["campaign": .string(seminar.idText), "contact": .string(first.idText), "kind": .string("registered"),
                                                             "email": .string("demo.contact@example.cn")])
        }
        // Trade-show visitors: each response becomes a lead of the show; one comes back twice.
        var leads: [Record] = []
        for (name, company, email, kind) in [("黄伟", "宁波精工机械", "huang.wei@nbjg.example.cn", "attended"), ("Li Na", "Suzhou Robotics", "li.na@szrobotics.example.com", "attended"),
                                             ("马超", "天津港联自动化", "ma.chao@tjgl.example.cn", "replied"), ("黄伟", "宁波精工机械", "huang.wei@nbjg.example.cn", "downloaded")] {
            let response = try await store.create("campaign_response", ["campaign": .string(show.idText), "name": .string(name), "company": .string(company),
                                                                        "email": .string(email), "kind": .string(kind)])
            if let lead = try await store.get("lead", response.string("lead")), !leads.contains(where: { $0.id == lead.id }) { leads.append(lead) }
        }
        show = try await store.update(try await store.get("campaign", show.id), ["status": .string("completed")])
        // The first visitor became a customer: a won deal attributed to the show through the lead.
        let stages = try await store.all("sales_stage", sort: "position")
        if let lead = leads.first, let won = stages.first(where: { $0.string("kind") == "won" }) {
            let account = try await store.create("account", ["name": .string("宁波精工机械有限公司"), "industry": .string("manufacturing"), "region": .string("华东")])
            let opportunity = try await store.create("opportunity", ["name": .string("精工 CRM 专业版 50 用户"), "account": .string(account.idText),
                                                                     "amount": .string("180000.00"), "close_date": .string(day(-5)), "stage": .string(won.idText),
                                                                     "source": .string("campaign"), "campaign": .string(show.idText)])
            _ = try await store.update(try await store.get("lead", lead.id), ["status": .string("qualified")])
            let competitor = try await store.create("competitor", ["name": .string("纷享销客 (example)"), "price_level": .string("similar"),
                                                                   "strengths": .string("移动端成熟"), "weaknesses": .string("定制化成本高")])
            _ = try await store.create("competitor_product", ["competitor": .string(competitor.idText), "name": .string("CRM 旗舰版"), "price": .string("3000")])
            _ = try await store.create("competitive_deal", ["opportunity": .string(opportunity.idText), "competitor": .string(competitor.idText),
                                                            "notes": .string("实施周期更短、价格透明。")])
        }
        _ = try await store.create("segment", ["name": .string("华东客户的联系人 / East China contacts"), "target": .string("account"),
                                               "filter": .string(#"{"field": "region", "op": "eq", "value": "华东"}"#)])
        let template = try await store.create("email_template", [
            "name": .string("研讨会邀请 / Seminar invitation"), "subject": .string("诚邀您参加 {{campaign.name}}"),
            "body": .string("{{contact.name}}，您好：\n\n诚邀您于 {{campaign.start_date}} 在 {{campaign.location}} 参加 {{campaign.name}}。\n\n{{sender.name}}\n\n退订：{{unsubscribe_url}}"),
        ])
        _ = try await store.create("mass_mail", ["name": .string("研讨会邀请第一轮"), "campaign": .string(seminar.idText), "template": .string(template.idText)])
        _ = try await store.create("web_form", ["name": .string("研讨会报名 / Seminar sign-up"), "campaign": .string(seminar.idText),
                                                "fields": .array(["name", "company", "email", "phone", "notes"].map(JSONValue.string)),
                                                "thank_you": .string("报名成功，我们会在会前一周发送确认邮件。")])
    }
}
