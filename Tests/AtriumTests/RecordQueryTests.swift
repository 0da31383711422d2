import Foundation
import HTTPTypes
import Platform
import Testing

/// Listing records: filters (typed, grouped, one lookup deep), sort, paging, fuzzy search and
/// refusal of anything that is not metadata.
@Suite struct RecordQueryTests {
    /// Five projects with known budgets, stages, start dates and headcounts.
    static func seedProjects(_ api: RecordAPIClient) async throws {
        for body in [
            #"{"x_name": "Alpha", "x_budget": "500", "x_stage": "plan", "x_start": "2026-01-15", "x_headcount": 3}"#,
            #"{"x_name": "Bravo", "x_budget": "1500", "x_stage": "build", "x_start": "2026-03-01", "x_headcount": 12}"#,
            #"{"x_name": "Charlie", "x_budget": "2500.5", "x_stage": "build", "x_start": "2026-07-01", "x_headcount": 8}"#,
            #"{"x_name": "Delta", "x_budget": "1000", "x_stage": "done", "x_start": "2025-12-31", "x_headcount": 20}"#,
            #"{"x_name": "Echo", "x_stage": "plan", "x_start": "2026-05-05", "x_headcount": 5}"#,
        ] {
            _ = try await api.create("x_project", body)
        }
    }

    static func names(_ response: RecordAPIResponse) -> [String] {
        response.records.strings("x_name").sorted()
    }

    @Test func gteOnMoneyComparesAmountsAsNumbers() async throws {
        try await RecordFixtures.withProject("rec-q-money") { api, _ in
            try await Self.seedProjects(api)
            let page = try await api.list("x_project", filter: #"{"field": "x_budget", "op": "gte", "value": 1000}"#)
            #expect(page.status == .ok)
            #expect(Self.names(page) == ["Bravo", "Charlie", "Delta"])
            #expect(page.total == 3)
            let money = try await api.query("x_project", #"{"filter": {"field": "x_budget", "op": "lt", "value": {"amount": "1000.00"}}}"#)
            #expect(Self.names(money) == ["Alpha"])
        }
    }

    @Test func eqOnPicklistAndBetweenOnDate() async throws {
        try await RecordFixtures.withProject("rec-q-eq") { api, _ in
            try await Self.seedProjects(api)
            let build = try await api.list("x_project", filter: #"{"field": "x_stage", "op": "eq", "value": "build"}"#)
            #expect(Self.names(build) == ["Bravo", "Charlie"])
            let firstHalf = try await api.query("x_project", #"{"filter": {"field": "x_start", "op": "between", "value": ["2026-01-01", "2026-06-30"]}}"#)
            #expect(Self.names(firstHalf) == ["Alpha", "Bravo", "Echo"])
            let notPlan = try await api.query("x_project", #"{"filter": {"field": "x_stage", "op": "ne", "value": "plan"}}"#)
            #expect(Self.names(notPlan) == ["Bravo", "Charlie", "Delta"])
            let some = try await api.query("x_project", #"{"filter": {"field": "x_stage", "op": "in", "value": ["plan", "done"]}}"#)
            #expect(Self.names(some) == ["Alpha", "Delta", "Echo"])
        }
    }

    @Test func andOrGroupsCombineAndNest() async throws {
        try await RecordFixtures.withProject("rec-q-group") { api, _ in
            try await Self.seedProjects(api)
            let and = try await api.query("x_project", #"""
                {"filter": {"and": [{"field": "x_stage", "op": "eq", "value": "build"}, {"field": "x_budget", "op": "gte", "value": 2000}]}}
                """#)
            #expect(Self.names(and) == ["Charlie"])
            let or = try await api.query("x_project", #"""
                {"filter": {"or": [{"field": "x_stage", "op": "eq", "value": "done"}, {"field": "x_headcount", "op": "lt", "value": 4}]}}
                """#)
            #expect(Self.names(or) == ["Alpha", "Delta"])
            let nested = try await api.list("x_project", filter: #"""
                {"and": [{"or": [{"field": "x_stage", "op": "eq", "value": "plan"}, {"field": "x_stage", "op": "eq", "value": "done"}]},
                         {"field": "x_start", "op": "gte", "value": "2026-01-01"}]}
                """#)
            #expect(nested.status == .ok)
            #expect(Self.names(nested) == ["Alpha", "Echo"])
            #expect(nested.total == 2)
            let empty = try await api.query("x_project", #"{"filter": {"field": "x_budget", "op": "is_empty", "value": true}}"#)
            #expect(Self.names(empty) == ["Echo"])
        }
    }

    @Test func sortDescendingOnMoneyPutsEmptyValuesLast() async throws {
        try await RecordFixtures.withProject("rec-q-sort") { api, _ in
            try await Self.seedProjects(api)
            let page = try await api.list("x_project", sort: "-x_budget")
            #expect(page.status == .ok)
            #expect(page.records.strings("x_name") == ["Charlie", "Bravo", "Delta", "Alpha", "Echo"])
            let ascending = try await api.list("x_project", sort: "x_headcount")
            #expect(ascending.records.strings("x_name") == ["Alpha", "Echo", "Charlie", "Bravo", "Delta"])  // 3, 5, 8, 12, 20: numeric, not text
            let twoKeys = try await api.list("x_project", sort: "x_stage,-x_start")
            #expect(twoKeys.records.strings("x_name") == ["Charlie", "Bravo", "Delta", "Echo", "Alpha"])
        }
    }

    @Test func limitAndOffsetPageWithTheTotalOfAllMatches() async throws {
        try await RecordFixtures.withProject("rec-q-page") { api, _ in
            try await Self.seedProjects(api)
            let second = try await api.list("x_project", sort: "-x_budget", limit: 2, offset: 2)
            #expect(second.status == .ok)
            #expect(second.records.strings("x_name") == ["Delta", "Alpha"])
            #expect(second.total == 5)
            #expect(second.json["limit"] == .number(2))
            #expect(second.json["offset"] == .number(2))
            let last = try await api.query("x_project", #"{"sort": "-x_budget", "limit": 2, "offset": 4}"#)
            #expect(last.records.strings("x_name") == ["Echo"])
            #expect(last.total == 5)
            let filtered = try await api.list("x_project", filter: #"{"field": "x_stage", "op": "eq", "value": "build"}"#, limit: 1)
            #expect(filtered.records.count == 1)
            #expect(filtered.total == 2)
            let beyond = try await api.list("x_project", limit: 10, offset: 50)
            #expect(beyond.records.isEmpty)
            #expect(beyond.total == 5)
        }
    }

    @Test func limitOutsideOneTo200IsInvalidQuery() async throws {
        try await RecordFixtures.withProject("rec-q-limit") { api, _ in
            for path in ["/api/v1/x_project?limit=0", "/api/v1/x_project?limit=201", "/api/v1/x_project?limit=ten", "/api/v1/x_project?offset=-1"] {
                let response = try await api.call(.get, path)
                #expect(response.status == .badRequest, "\(path)")
                #expect(response.errorCode == "invalid_query", "\(path)")
            }
        }
    }

    @Test func filterOrSortOnAFieldThatDoesNotExistIs400InvalidQuery() async throws {
        try await RecordFixtures.withProject("rec-q-400") { api, _ in
            let filter = try await api.list("x_project", filter: #"{"field": "x_nope", "op": "eq", "value": "a"}"#)
            #expect(filter.status == .badRequest)
            #expect(filter.errorCode == "invalid_query")
            #expect(filter.errorField == "x_nope")
            let sort = try await api.list("x_project", sort: "-x_nope")
            #expect(sort.status == .badRequest)
            #expect(sort.errorCode == "invalid_query")
            #expect(sort.errorField == "x_nope")
            let body = try await api.query("x_project", #"{"filter": {"field": "x_nope", "op": "eq", "value": "a"}}"#)
            #expect(body.status == .badRequest)
            #expect(body.errorCode == "invalid_query")
            let op = try await api.list("x_project", filter: #"{"field": "x_name", "op": "like", "value": "a"}"#)
            #expect(op.errorCode == "invalid_query")
            let notJSON = try await api.list("x_project", filter: "x_name=a")
            #expect(notJSON.status == .badRequest)
            #expect(notJSON.errorCode == "invalid_query")
            let badValue = try await api.list("x_project", filter: #"{"field": "x_headcount", "op": "gt", "value": "many"}"#)
            #expect(badValue.status == .badRequest)
            #expect(badValue.errorCode == "invalid_query")
        }
    }

    @Test func injectionInAFieldNameIsRefusedAndChangesNothing() async throws {
        try await RecordFixtures.withProject("rec-q-inj") { api, tenant in
            try await Self.seedProjects(api)
            let attack = #"name\"; DROP TABLE records; --"#
            let filter = try await api.list("x_project", filter: #"{"field": "\#(attack)", "op": "eq", "value": "a"}"#)
            #expect(filter.status == .badRequest)
            #expect(filter.errorCode == "invalid_query")
            let sort = try await api.list("x_project", sort: #"name"; DROP TABLE records; --"#)
            #expect(sort.status == .badRequest)
            #expect(sort.errorCode == "invalid_query")
            let quoted = try await api.list("x_project", sort: "x_name') DESC; DELETE FROM records; --")
            #expect(quoted.status == .badRequest)
            let throughLookup = try await api.query("x_project", #"{"filter": {"field": "x_name'; DELETE FROM records; --.x", "op": "eq", "value": "a"}}"#)
            #expect(throughLookup.status == .badRequest)
            #expect(throughLookup.errorCode == "invalid_query")
            #expect(try await api.count("x_project") == 5)
            #expect(try await RecordFixtures.storedRecordCount(tenant) == 5)
        }
    }

    @Test func injectionInAValueMatchesNothingAndChangesNothing() async throws {
        try await RecordFixtures.withProject("rec-q-injv") { api, tenant in
            try await Self.seedProjects(api)
            let attack = "'; DROP TABLE records; --"
            let eq = try await api.list("x_project", filter: #"{"field": "x_name", "op": "eq", "value": "\#(attack)"}"#)
            #expect(eq.status == .ok)
            #expect(eq.records.isEmpty)
            #expect(eq.total == 0)
            let contains = try await api.query("x_project", #"{"filter": {"field": "x_name", "op": "contains", "value": "' OR '1'='1"}}"#)
            #expect(contains.status == .ok)
            #expect(contains.total == 0)
            let search = try await api.list("x_project", q: "%' OR '1'='1")
            #expect(search.status == .ok)
            #expect(search.total == 0)
            #expect(try await api.count("x_project") == 5)
            #expect(try await RecordFixtures.storedRecordCount(tenant) == 5)
        }
    }

    @Test func likeWildcardsInSearchAndContainsAreLiteral() async throws {
        try await RecordFixtures.withProject("rec-q-wild") { api, _ in
            _ = try await api.create("x_project", #"{"x_name": "100% done"}"#)
            _ = try await api.create("x_project", #"{"x_name": "a_b"}"#)
            _ = try await api.create("x_project", #"{"x_name": "axb"}"#)
            #expect(try await api.list("x_project", q: "%").records.strings("x_name") == ["100% done"])
            #expect(try await api.list("x_project", q: "a_b").records.strings("x_name") == ["a_b"])
            let contains = try await api.query("x_project", #"{"filter": {"field": "x_name", "op": "contains", "value": "_"}}"#)
            #expect(contains.records.strings("x_name") == ["a_b"])
        }
    }

    @Test func chineseFuzzySearchMatchesSubstrings() async throws {
        try await RecordFixtures.withProject("rec-q-zh") { api, _ in
            for name in ["北京华通科技有限公司", "上海华为", "深圳腾讯"] {
                _ = try await api.create("x_project", #"{"x_name": "\#(name)"}"#)
            }
            let huatong = try await api.list("x_project", q: "华通")
            #expect(huatong.status == .ok)
            #expect(huatong.records.strings("x_name") == ["北京华通科技有限公司"])
            #expect(huatong.total == 1)
            let hua = try await api.list("x_project", q: "华")
            #expect(Self.names(hua) == ["上海华为", "北京华通科技有限公司"].sorted())
            #expect(hua.total == 2)
            #expect(try await api.list("x_project", q: "杭州").total == 0)
        }
    }

    @Test func searchIsCaseInsensitiveAndFollowsUpdates() async throws {
        try await RecordFixtures.withProject("rec-q-case") { api, _ in
            let id = try await api.createID("x_project", #"{"x_name": "Huatong Technology"}"#)
            #expect(try await api.list("x_project", q: "HUATONG").total == 1)
            #expect(try await api.call(.patch, "/api/v1/x_project/\(id)", json: #"{"version": 1, "x_name": "腾讯"}"#).status == .ok)
            #expect(try await api.list("x_project", q: "huatong").total == 0)
            #expect(try await api.list("x_project", q: "腾讯").total == 1)
        }
    }

    // MARK: One level through a lookup

    static let accountObject = #"""
        {"key": "x_account", "labels": {"en": "Account"}, "fields": [
          {"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": true},
          {"key": "x_region", "labels": {"en": "Region"}, "type": "picklist", "options": [{"value": "East"}, {"value": "West"}]}]}
        """#
    static let dealObject = #"""
        {"key": "x_deal", "labels": {"en": "Deal"}, "fields": [
          {"key": "x_name", "labels": {"en": "Name"}, "type": "text", "required": true},
          {"key": "x_account", "labels": {"en": "Account"}, "type": "lookup", "target": "x_account"}]}
        """#

    @Test func filterThroughALookupMatchesOnTheTargetsField() async throws {
        try await RecordFixtures.withTenant("rec-q-lookup") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(Self.accountObject)
            try await api.createObject(Self.dealObject)
            let east = try await api.createID("x_account", #"{"x_name": "东方", "x_region": "East"}"#)
            let west = try await api.createID("x_account", #"{"x_name": "西部", "x_region": "West"}"#)
            let east2 = try await api.createID("x_account", #"{"x_name": "华东", "x_region": "East"}"#)
            for (name, account) in [("d1", east), ("d2", west), ("d3", east2), ("d4", west)] {
                _ = try await api.create("x_deal", #"{"x_name": "\#(name)", "x_account": "\#(account)"}"#)
            }
            _ = try await api.create("x_deal", #"{"x_name": "d5"}"#)
            let page = try await api.list("x_deal", filter: #"{"field": "x_account.x_region", "op": "eq", "value": "East"}"#)
            #expect(page.status == .ok)
            #expect(Self.names(page) == ["d1", "d3"])
            #expect(page.total == 2)
            let combined = try await api.query("x_deal", #"""
                {"filter": {"and": [{"field": "x_account.x_region", "op": "eq", "value": "East"}, {"field": "x_name", "op": "ne", "value": "d1"}]}}
                """#)
            #expect(Self.names(combined) == ["d3"])
            let byName = try await api.query("x_deal", #"{"filter": {"field": "x_account.x_name", "op": "contains", "value": "西"}}"#)
            #expect(Self.names(byName) == ["d2", "d4"])
        }
    }

    @Test func lookupPathsThatAreNotLookupsOrGoDeeperAreInvalidQuery() async throws {
        try await RecordFixtures.withTenant("rec-q-lkbad") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            try await api.createObject(Self.accountObject)
            try await api.createObject(Self.dealObject)
            for path in ["x_account.x_nope", "x_name.x_region", "x_account.x_region.x_name", "x_account.", ".x_region"] {
                let response = try await api.list("x_deal", filter: #"{"field": "\#(path)", "op": "eq", "value": "East"}"#)
                #expect(response.status == .badRequest, "\(path)")
                #expect(response.errorCode == "invalid_query", "\(path)")
            }
            let badValue = try await api.list("x_deal", filter: #"{"field": "x_account.x_region", "op": "eq", "value": "North"}"#)
            #expect(badValue.status == .badRequest)
        }
    }

    @Test func systemFieldsFilterAndSort() async throws {
        try await RecordFixtures.withProject("rec-q-system") { api, _ in
            try await Self.seedProjects(api)
            let sorted = try await api.list("x_project", sort: "created_at")
            #expect(sorted.records.strings("x_name") == ["Alpha", "Bravo", "Charlie", "Delta", "Echo"])
            let first = try #require(sorted.records.first)
            let byID = try await api.list("x_project", filter: #"{"field": "id", "op": "eq", "value": "\#(first["id"]?.stringValue ?? "")"}"#)
            #expect(byID.records.strings("x_name") == ["Alpha"])
            let recent = try await api.list("x_project", filter: #"{"field": "created_at", "op": "gte", "value": "2000-01-01T00:00:00Z"}"#)
            #expect(recent.total == 5)
            let version = try await api.list("x_project", filter: #"{"field": "version", "op": "gt", "value": 1}"#)
            #expect(version.total == 0)
        }
    }
}
