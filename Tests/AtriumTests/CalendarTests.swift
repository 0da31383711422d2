import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Modules
import Platform
import Tenancy
import Testing

/// Calendar events (日程) of the activities module: recurrence expansion in the tenant's time
/// zone, editing one occurrence vs the series, the rules' 422s, the calendar API and page under
/// the viewer's scope, and the iCalendar feed with its revocation.
@Suite struct CalendarTests {
    static let zone = Recurrence.tenantZone

    static func body(_ object: [String: JSONValue]) -> String { JSONValue.object(object).jsonText }

    static func instant(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    /// `YYYY-MM-DD HH:mm` in China time.
    static func local(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: date)
    }

    static func expand(_ rule: RecurrenceRule, from start: String, window: (String, String)) -> [String] {
        let first = instant(start)
        return Recurrence.occurrences(of: rule, start: first, duration: 3600, in: instant(window.0)..<instant(window.1)).map(local)
    }

    // MARK: Recurrence expansion (pure)

    @Test func weeklyOnMondayAndWednesdayTenTimesCrossesTheMonthBoundary() {
        let rule = RecurrenceRule(frequency: .weekly, weekdays: [0, 2], count: 10)
        let all = Self.expand(rule, from: "2026-09-14T10:00:00+08:00", window: ("2026-09-01T00:00:00+08:00", "2026-12-31T00:00:00+08:00"))
        #expect(all == ["2026-09-14 10:00", "2026-09-16 10:00", "2026-09-21 10:00", "2026-09-23 10:00", "2026-09-28 10:00",
                        "2026-09-30 10:00", "2026-10-05 10:00", "2026-10-07 10:00", "2026-10-12 10:00", "2026-10-14 10:00"])
        // A window shows only its part of the series; the count still ends it on 10-14.
        #expect(Self.expand(rule, from: "2026-09-14T10:00:00+08:00", window: ("2026-10-01T00:00:00+08:00", "2026-11-01T00:00:00+08:00"))
            == ["2026-10-05 10:00", "2026-10-07 10:00", "2026-10-12 10:00", "2026-10-14 10:00"])
        // A series starting on a Wednesday does not go back to that week's Monday.
        let fromWednesday = Self.expand(RecurrenceRule(frequency: .weekly, weekdays: [0, 2], count: 3), from: "2026-09-30T09:30:00+08:00",
                                        window: ("2026-09-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00"))
        #expect(fromWednesday == ["2026-09-30 09:30", "2026-10-05 09:30", "2026-10-07 09:30"])
    }

    /// The expansion knows no public holidays: 2026-10-01 (National Day, a Thursday) is an
    /// occurrence of a Thursday meeting like any Thursday, and the Golden Week Mondays and
    /// Wednesdays above too. Skipping a holiday is cancelling that occurrence.
    @Test func theExpansionDoesNotSkipChinaNationalDay() {
        let thursdays = Self.expand(RecurrenceRule(frequency: .weekly, count: 3), from: "2026-09-24T14:00:00+08:00",
                                    window: ("2026-09-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00"))
        #expect(thursdays == ["2026-09-24 14:00", "2026-10-01 14:00", "2026-10-08 14:00"])
        let daily = Self.expand(RecurrenceRule(frequency: .daily, until: "2026-10-02"), from: "2026-09-29T08:00:00+08:00",
                                window: ("2026-09-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00"))
        #expect(daily == ["2026-09-29 08:00", "2026-09-30 08:00", "2026-10-01 08:00", "2026-10-02 08:00"])
    }

    @Test func intervalsUntilDatesAndMonthsWithoutTheDay() {
        // Every second week, until a date (inclusive).
        #expect(Self.expand(RecurrenceRule(frequency: .weekly, interval: 2, weekdays: [4], until: "2026-11-27"), from: "2026-10-30T17:00:00+08:00",
                            window: ("2026-10-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00"))
            == ["2026-10-30 17:00", "2026-11-13 17:00", "2026-11-27 17:00"])
        // Monthly on the 31st: months without a 31st have no occurrence; the count counts real ones.
        #expect(Self.expand(RecurrenceRule(frequency: .monthly, count: 4), from: "2026-10-31T09:00:00+08:00",
                            window: ("2026-10-01T00:00:00+08:00", "2027-12-01T00:00:00+08:00"))
            == ["2026-10-31 09:00", "2026-12-31 09:00", "2027-01-31 09:00", "2027-03-31 09:00"])
        // 00:30 in Shanghai is the previous day in UTC: days are the tenant's, not UTC's.
        let early = Self.expand(RecurrenceRule(frequency: .weekly, weekdays: [0], count: 2), from: "2026-11-02T00:30:00+08:00",
                                window: ("2026-11-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00"))
        #expect(early == ["2026-11-02 00:30", "2026-11-09 00:30"])
        let rule = RecurrenceRule(frequency: .weekly, weekdays: [0, 2], count: 10)
        let start = Self.instant("2026-09-14T10:00:00+08:00")
        #expect(Recurrence.contains(rule, start: start, instant: Self.instant("2026-10-07T10:00:00+08:00")))
        #expect(!Recurrence.contains(rule, start: start, instant: Self.instant("2026-10-08T10:00:00+08:00")))
        #expect(!Recurrence.contains(rule, start: start, instant: Self.instant("2026-10-19T10:00:00+08:00")), "after the tenth")
        #expect(Recurrence.last(of: rule, start: start).map(Self.local) == "2026-10-14 10:00")
        #expect(rule.rrule(zone: Self.zone) == "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10")
        #expect(RecurrenceRule(frequency: .daily, interval: 2, until: "2026-10-02").rrule(zone: Self.zone) == "RRULE:FREQ=DAILY;INTERVAL=2;UNTIL=20261002T155959Z")
        #expect(RecurrenceRule(frequency: .daily, until: "2026-10-02").rrule(zone: Self.zone, allDay: true) == "RRULE:FREQ=DAILY;UNTIL=20261002")
    }

    @Test func storedTimesAreReadAndWrittenLikeTheEngineDoes() {
        let formatter = ISO8601DateFormatter()
        for text in ["2026-09-14T02:00:00Z", "2024-02-29T23:59:59Z", "1969-12-31T23:59:59Z", "2000-03-01T00:00:00Z", "2099-12-31T12:30:05Z"] {
            #expect(EventTime.date(.string(text)) == formatter.date(from: text), "\(text)")
            #expect(EventTime.text(formatter.date(from: text)!) == text)
        }
        // Other ISO 8601 forms go through the formatter.
        #expect(EventTime.date(.string("2026-09-14T10:00:00+08:00")) == formatter.date(from: "2026-09-14T02:00:00Z"))
        #expect(EventTime.date(.string("2026-13-14T02:00:00Z")) == nil)
        #expect(ICalendar.utcStamp(formatter.date(from: "2026-09-14T02:00:00Z")!) == "20260914T020000Z")
    }

    @Test func iCalendarTextIsEscapedAndFoldedAt75Octets() {
        #expect(ICalendar.escape("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne")
        let long = "LOCATION:" + String(repeating: "北京市海淀区中关村大街", count: 6)
        let folded = ICalendar.fold(long)
        let lines = folded.components(separatedBy: "\r\n")
        #expect(lines.count > 1)
        #expect(lines.allSatisfy { $0.utf8.count <= 75 }, "\(lines.map(\.utf8.count))")
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix(" ") })
        // Unfolding gives the line back, with no character split.
        #expect(lines.enumerated().map { $0.offset == 0 ? $0.element : String($0.element.dropFirst()) }.joined() == long)
    }

    // MARK: Through the API

    static func event(_ subject: String, _ start: String, _ end: String, _ extra: [String: JSONValue] = [:]) -> String {
        var values: [String: JSONValue] = ["subject": .string(subject), "starts_at": .string(start), "ends_at": .string(end)]
        values.merge(extra) { $1 }
        return body(values)
    }

    static func calendar(_ api: RecordAPIClient, _ from: String, _ to: String, scope: String = "mine") async throws -> [JSONValue] {
        let response = try await api.call(.get, "/api/v1/calendar?from=\(from)&to=\(to)&scope=\(scope)")
        try #require(response.status == .ok, "calendar: \(response.text)")
        return response.json["items"]?.asArray ?? []
    }

    static func weeklyMeeting(_ api: RecordAPIClient, subject: String = "Weekly sales meeting", _ extra: [String: JSONValue] = [:]) async throws -> String {
        var values: [String: JSONValue] = ["recurrence": "weekly", "recurrence_weekdays": .array(["mo", "we"]), "recurrence_count": 10]
        values.merge(extra) { $1 }
        return try await api.createID("event", event(subject, "2026-09-14T10:00:00+08:00", "2026-09-14T11:00:00+08:00", values))
    }

    @Test func badEventsAreRefusedNamingTheField() async throws {
        try await RecordFixtures.withTenant("cal-bad") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let cases: [([String: JSONValue], String)] = [
                (["ends_at": "2026-11-02T09:00:00+08:00"], "ends_at"),                                   // ends before it starts
                (["recurrence": "weekly"], "recurrence_until"),                                           // never ends
                (["recurrence": "daily", "recurrence_count": 367], "recurrence_count"),                   // over the cap
                (["recurrence": "daily", "recurrence_until": "2026-11-01"], "recurrence_until"),          // ends before the first
                (["recurrence": "daily", "recurrence_until": "2035-01-01"], "recurrence_until"),          // too far
                (["recurrence": "weekly", "recurrence_count": 3, "recurrence_weekdays": .array(["tu"])], "recurrence_weekdays"),  // 11-02 is a Monday
                (["recurrence": "yearly", "recurrence_count": 3], "recurrence"),
                (["attendee_ids": "not-a-user"], "attendee_ids"),
                (["attendee_ids": .string(UUID().uuidString)], "attendee_ids"),
                (["cancelled": .bool(true)], "cancelled"),
                (["series_id": .string(UUID().uuidString), "occurrence_start": "2026-11-02T10:00:00+08:00"], "series_id"),
                (["starts_at": "tomorrow"], "starts_at"),
            ]
            for (extra, field) in cases {
                let refused = try await api.call(.post, "/api/v1/event", json: Self.event("Bad", "2026-11-02T10:00:00+08:00", "2026-11-02T11:00:00+08:00", extra))
                #expect(refused.status == .unprocessableContent, "\(extra): \(refused.text)")
                #expect(refused.errorField == field, "\(extra): \(refused.text)")
            }
            #expect(try await api.count("event") == 0, "nothing written")
            // Without an end, an event lasts an hour; a weekly rule without days repeats on the start's weekday.
            let made = try await api.create("event", Self.body(["subject": "Call", "starts_at": "2026-11-02T10:00:00+08:00",
                                                                 "recurrence": "weekly", "recurrence_count": 2]))
            #expect(made["ends_at"] == .string("2026-11-02T03:00:00Z"), "\(made)")
            #expect(made["recurrence_weekdays"] == .array(["mo"]))
            // Changing the end of an existing event before its start is refused too.
            let id = try #require(made["id"]?.stringValue)
            let patched = try await api.call(.patch, "/api/v1/event/\(id)", json: Self.body(["version": 1, "ends_at": "2026-11-01T10:00:00+08:00"]))
            #expect(patched.status == .unprocessableContent && patched.errorField == "ends_at", "\(patched.text)")
            // The calendar's parameters name themselves.
            for (query, field) in [("from=2026-13-01&to=2026-12-01", "from"), ("from=2026-11-01", "to"), ("from=2026-11-10&to=2026-11-01", "to"),
                                   ("from=2026-01-01&to=2026-06-01", "to"), ("from=2026-11-01&to=2026-11-02&scope=everyone", "scope")] {
                let refused = try await api.call(.get, "/api/v1/calendar?\(query)")
                #expect(refused.status == .badRequest, "\(query): \(refused.text)")
                #expect(refused.errorField == field, "\(query): \(refused.text)")
            }
        }
    }

    @Test func editingOneOccurrenceVersusTheSeries() async throws {
        try await RecordFixtures.withTenant("cal-series") { client, tenant in
            let api = try await RecordAPIClient.admin(client, tenant)
            let series = try await Self.weeklyMeeting(api, ["location": "Room 301"])
            func events() async throws -> [JSONValue] {
                try await Self.calendar(api, "2026-09-01", "2026-10-31").filter { $0["type"] == "event" }
            }
            let initial = try await events()
            #expect(initial.count == 10)
            #expect(initial.allSatisfy { $0["id"]?.stringValue == series && $0["recurring"] == .bool(true) })
            #expect(initial.compactMap { $0["start"]?.stringValue }.first == "2026-09-14T02:00:00Z")

            // Edit one: Wednesday 09-16 moves to Thursday 15:00 under another subject.
            let moved = try await api.create("event", Self.body(["series_id": .string(series), "occurrence_start": "2026-09-16T10:00:00+08:00",
                                                                  "subject": "Sales meeting (moved)", "starts_at": "2026-09-17T15:00:00+08:00"]))
            #expect(moved["ends_at"] == .string("2026-09-17T08:00:00Z"), "the series' length: \(moved)")
            #expect(moved["location"] == .string("Room 301"), "copied from the series")
            #expect(moved["recurrence"] == .string("none"))
            // Cancel one: Monday 09-21.
            _ = try await api.createID("event", Self.body(["series_id": .string(series), "occurrence_start": "2026-09-21T10:00:00+08:00", "cancelled": .bool(true)]))

            let edited = try await events()
            let starts = edited.compactMap { $0["start"]?.stringValue }
            #expect(edited.count == 9, "\(starts)")
            #expect(!starts.contains("2026-09-16T02:00:00Z") && !starts.contains("2026-09-21T02:00:00Z"))
            let replacement = try #require(edited.first { $0["start"] == "2026-09-17T07:00:00Z" })
            #expect(replacement["subject"] == "Sales meeting (moved)" && replacement["edited"] == .bool(true))
            #expect(replacement["series_id"]?.stringValue == series && replacement["occurrence_start"] == "2026-09-16T02:00:00Z")

            // The same occurrence cannot be changed twice; a time that is no occurrence is refused.
            for (at, field) in [("2026-09-16T10:00:00+08:00", "occurrence_start"), ("2026-09-15T10:00:00+08:00", "occurrence_start")] {
                let refused = try await api.call(.post, "/api/v1/event", json: Self.body(["series_id": .string(series), "occurrence_start": .string(at)]))
                #expect(refused.status == .unprocessableContent && refused.errorField == field, "\(at): \(refused.text)")
            }
            let repeating = try await api.call(.post, "/api/v1/event", json: Self.body(["series_id": .string(series), "occurrence_start": "2026-09-23T10:00:00+08:00",
                                                                                       "recurrence": "daily", "recurrence_count": 2]))
            #expect(repeating.errorField == "recurrence", "\(repeating.text)")

            // The page offers to change one unchanged occurrence: the new-event form filled in as its exception.
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: tenant.adminEmail, password: tenant.password).status == .seeOther)
            let week = String(buffer: try await browser.send(.get, "/app/calendar?view=week&date=2026-09-23").body)
            let link = try #require(week.range(of: #"/app/event/new\?series_id=[^"]+"#, options: .regularExpression).map { String(week[$0]) })
            #expect(link.contains("occurrence_start=2026-09-23T02:00"), "\(link)")
            let form = try await browser.send(.get, link.replacingOccurrences(of: "&amp;", with: "&"))
            #expect(form.status == .ok)
            #expect(String(buffer: form.body).contains("2026-09-23T02:00"))
            // A blank field of an edited occurrence (a form's empty input) is the series' value.
            let blank = try await api.create("event", Self.body(["series_id": .string(series), "occurrence_start": "2026-09-23T10:00:00+08:00",
                                                                  "location": .null, "notes": .null]))
            #expect(blank["location"] == .string("Room 301"), "\(blank)")
            let blankID = try #require(blank["id"]?.stringValue)
            #expect(try await api.call(.delete, "/api/v1/event/\(blankID)").status == .noContent)

            // Edit the series: every unchanged occurrence follows, the edited one keeps its own.
            let version = try #require(try await api.call(.get, "/api/v1/event/\(series)").version)
            let renamed = try await api.call(.patch, "/api/v1/event/\(series)", json: Self.body(["version": .number(Decimal(version)), "subject": "Team meeting"]))
            #expect(renamed.status == .ok, "\(renamed.text)")
            let after = try await events()
            #expect(after.count == 9)
            #expect(after.filter { $0["subject"] == "Team meeting" }.count == 8)
            #expect(after.filter { $0["subject"] == "Sales meeting (moved)" }.count == 1)

            // Binning the series bins its exceptions: nothing is left in the calendar.
            #expect(try await api.call(.delete, "/api/v1/event/\(series)").status == .noContent)
            #expect(try await events().isEmpty)
            #expect(try await api.count("event") == 0)
        }
    }

    @Test func aSalespersonsCalendarNeverShowsAColleaguesPrivateEventsButHerManagersTeamViewDoes() async throws {
        try await RecordFixtures.withTenant("cal-scope") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let east = try await PermissionFixtures.department(admin, "East", parent: nil)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: east, roles: ["salesperson"])
            let bob = try await PermissionFixtures.member(client, tenant, admin, "bob", department: east, roles: ["salesperson"])
            let boss = try await PermissionFixtures.member(client, tenant, admin, "boss", department: east, roles: ["sales_manager"])
            let hers = try await amy.api.createID("event", Self.event("Amy: visit Huatong", "2026-11-03T09:00:00+08:00", "2026-11-03T10:00:00+08:00"))
            let his = try await bob.api.createID("event", Self.event("Bob: private lunch", "2026-11-04T12:00:00+08:00", "2026-11-04T13:00:00+08:00"))
            let task = try await bob.api.createID("task", Self.body(["subject": "Bob's call list", "due_at": "2026-11-05T18:00:00+08:00"]))
            let bossSeries = try await boss.api.createID("event", Self.event("Weekly sales meeting", "2026-11-02T09:00:00+08:00", "2026-11-02T10:00:00+08:00", [
                "recurrence": "weekly", "recurrence_count": 4, "attendee_ids": .string("\(amy.id), \(bob.id)")]))

            func ids(_ items: [JSONValue]) -> Set<String> { Set(items.compactMap { $0["id"]?.stringValue }) }
            for scope in ["mine", "team"] {
                let shown = ids(try await Self.calendar(amy.api, "2026-11-01", "2026-11-30", scope: scope))
                #expect(shown == [hers, bossSeries], "\(scope): \(shown)")
            }
            #expect(try await amy.api.call(.get, "/api/v1/event/\(his)").status == .notFound)
            let team = try await Self.calendar(boss.api, "2026-11-01", "2026-11-30", scope: "team")
            #expect(ids(team) == [hers, his, task, bossSeries], "\(team)")
            #expect(team.filter { $0["id"]?.stringValue == bossSeries }.count == 4)
            #expect(ids(try await Self.calendar(boss.api, "2026-11-01", "2026-11-30")) == [bossSeries], "his own")
            // The page follows the same rule.
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: amy.email, password: PermissionFixtures.password).status == .seeOther)
            for view in ["day&date=2026-11-03", "week&date=2026-11-04", "month&date=2026-11-15&scope=team"] {
                let page = try await browser.send(.get, "/app/calendar?view=\(view)")
                let html = String(buffer: page.body)
                #expect(page.status == .ok, "\(view)")
                #expect(html.contains(#"data-testid="calendar""#))
                #expect(!html.contains("Bob: private lunch") && !html.contains("call list"), "\(view)")
            }
            let month = String(buffer: try await browser.send(.get, "/app/calendar?view=month&date=2026-11-15").body)
            #expect(month.contains("Amy: visit Huatong") && month.contains("Weekly sales meeting"))
            #expect(try await browser.send(.get, "/app/calendar?view=year").status == .badRequest)
        }
    }

    @Test func theICalendarFeedIsTheOwnersCalendarUntilRevoked() async throws {
        try await RecordFixtures.withTenant("cal-feed") { client, tenant in
            let admin = try await RecordAPIClient.admin(client, tenant)
            let amy = try await PermissionFixtures.member(client, tenant, admin, "amy", department: nil, roles: ["salesperson"])
            let series = try await Self.weeklyMeeting(amy.api, subject: "周会, 销售; 复盘", ["location": .string(String(repeating: "北京市海淀区中关村大街", count: 4))])
            _ = try await amy.api.createID("event", Self.body(["series_id": .string(series), "occurrence_start": "2026-09-21T10:00:00+08:00", "cancelled": .bool(true)]))
            _ = try await amy.api.createID("event", Self.body(["series_id": .string(series), "occurrence_start": "2026-09-16T10:00:00+08:00",
                                                                "starts_at": "2026-09-17T15:00:00+08:00"]))
            _ = try await amy.api.createID("event", Self.event("Customer dinner", "2026-11-20T18:00:00+08:00", "2026-11-20T20:00:00+08:00", ["reminder_minutes": 30]))
            _ = try await admin.createID("event", Self.event("Board meeting", "2026-11-20T09:00:00+08:00", "2026-11-20T12:00:00+08:00"))

            #expect(try await amy.api.call(.get, "/api/v1/calendar/feed").json["active"] == .bool(false))
            let created = try await amy.api.call(.post, "/api/v1/calendar/feed")
            #expect(created.status == .created, "\(created.text)")
            let path = try #require(created.json["path"]?.stringValue)
            #expect(path.hasPrefix("/calendar/feed/cal_") && path.hasSuffix(".ics"))
            #expect(try await amy.api.call(.get, "/api/v1/calendar/feed").json["active"] == .bool(true))

            func fetch(_ path: String) async throws -> (HTTPResponse.Status, String, HTTPFields) {
                let response = try await client.execute(uri: path, method: .get, headers: [TenantResolver.header: tenant.info.slug], body: nil)
                return (response.status, String(buffer: response.body), response.headers)
            }
            let (status, text, headers) = try await fetch(path)
            #expect(status == .ok, "\(text)")
            #expect(headers[.contentType]?.hasPrefix("text/calendar") == true)
            #expect(text.hasPrefix("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") && text.hasSuffix("END:VCALENDAR\r\n"))
            let physical = text.components(separatedBy: "\r\n")
            #expect(physical.allSatisfy { $0.utf8.count <= 75 && !$0.contains("\n") }, "folded, CRLF only")
            let lines = text.replacingOccurrences(of: "\r\n ", with: "").components(separatedBy: "\r\n")
            #expect(lines.filter { $0 == "BEGIN:VEVENT" }.count == 3, "series, its edited occurrence, the dinner: \(text)")
            #expect(lines.contains("UID:\(series)@\(tenant.info.slug)") || lines.contains { $0.hasPrefix("UID:\(series)@") })
            #expect(lines.contains("DTSTART:20260914T020000Z") && lines.contains("DTEND:20260914T030000Z"))
            #expect(lines.contains("RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10"))
            #expect(lines.contains("EXDATE:20260921T020000Z"))
            #expect(lines.contains("RECURRENCE-ID:20260916T020000Z") && lines.contains("DTSTART:20260917T070000Z"))
            #expect(lines.contains("SUMMARY:周会\\, 销售\\; 复盘"))
            #expect(lines.contains("LOCATION:" + String(repeating: "北京市海淀区中关村大街", count: 4)))
            #expect(lines.contains("TRIGGER:-PT30M"))
            #expect(!text.contains("Board meeting"), "the administrator's event is not hers")
            // A wrong token, or the same token for another tenant's host, is a 404.
            #expect(try await fetch("/calendar/feed/cal_nope.ics").0 == .notFound)
            #expect(try await fetch(path.replacingOccurrences(of: ".ics", with: "")).0 == .notFound)

            // A new link replaces the old; revoking ends it.
            let renewed = try #require(try await amy.api.call(.post, "/api/v1/calendar/feed").json["path"]?.stringValue)
            #expect(try await fetch(path).0 == .notFound)
            #expect(try await fetch(renewed).0 == .ok)
            #expect(try await amy.api.call(.delete, "/api/v1/calendar/feed").status == .noContent)
            #expect(try await fetch(renewed).0 == .notFound)
            #expect(try await amy.api.call(.delete, "/api/v1/calendar/feed").status == .notFound)

            // The page makes a link with its CSRF token and shows it once.
            var browser = BrowserSession(client: client, tenant: tenant.info.slug)
            #expect(try await browser.login(email: amy.email, password: PermissionFixtures.password).status == .seeOther)
            let page = String(buffer: try await browser.send(.get, "/app/calendar").body)
            let csrf = try #require(BrowserSession.csrfToken(in: page))
            #expect(try await browser.send(.post, "/app/calendar/feed", form: [:]).status == .forbidden)
            let made = String(buffer: try await browser.send(.post, "/app/calendar/feed", form: ["_csrf": csrf]).body)
            let link = try #require(made.range(of: #"/calendar/feed/cal_[A-Za-z0-9_-]+\.ics"#, options: .regularExpression).map { String(made[$0]) })
            #expect(try await fetch(link).0 == .ok)
            let revoked = try await browser.send(.post, "/app/calendar/feed/revoke", form: ["_csrf": csrf])
            #expect(revoked.status == .seeOther)
            #expect(try await fetch(link).0 == .notFound)
        }
    }

    /// The demo calendar: the Monday meeting as a weekly series and four single events, once
    /// (also for a tenant whose follow-ups were seeded before events existed).
    @Test func demoDataSeedsTheTeamsWeekOnce() async throws {
        let tenant = try await TestEnvironment.provisionTenant("cal-demo")
        let logger = TestEnvironment.logger
        let catalog = try TestEnvironment.catalog()
        let rows = try await TestEnvironment.withAppRole { connection in
            try await connection.inTenantTransaction(tenant.info.id, logger: logger) { connection in
                let admin = try #require(try await UserStore.credentials(email: tenant.adminEmail, on: connection, logger: logger)).user
                let engine = RecordEngine(catalog: catalog)
                let demo = ModuleDemoContext(engine: engine, admin: admin, people: [:], connection: connection, logger: logger)
                try await ActivitiesDemoData.seed(demo)
                try await ActivitiesDemoData.seed(demo)
                var rows: [String] = []
                for try await (subject, recurrence) in try await connection.query("""
                    SELECT data->>'subject', data->>'recurrence' FROM records WHERE entity = 'event' AND deleted_at IS NULL ORDER BY 1
                    """, logger: logger).decode((String, String).self) {
                    rows.append("\(subject):\(recurrence)")
                }
                return rows
            }
        }
        #expect(rows.count == 5, "\(rows)")
        #expect(rows.contains("销售周例会:weekly"))
        #expect(rows.filter { $0.hasSuffix(":none") }.count == 4)
    }
}
