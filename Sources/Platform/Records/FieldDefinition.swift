import Foundation

/// The kinds of value a field holds. Stored form in `records.data` (all JSON):
/// numbers, money amounts and percents as decimal strings (exact, never Double); dates as
/// `YYYY-MM-DD`; datetimes as `YYYY-MM-DDTHH:MM:SSZ` (UTC) so text order is time order;
/// money as `{"amount": "12.50", "currency": "CNY"}`; lookups, users and departments as ids.
public enum FieldType: String, Sendable, Codable, CaseIterable {
    case text, longText = "long_text", number, money, percent, date, datetime, boolean
    case email, phone, url, picklist, multiPicklist = "multi_picklist"
    case lookup, user, department, autoNumber = "auto_number"

    /// Compared and sorted as numbers (expression `(data->>'k')::numeric`).
    var isNumeric: Bool { self == .number || self == .percent || self == .money }
    /// Set by the engine, never by callers.
    var isSystemFilled: Bool { self == .autoNumber }
}

/// One option of a picklist or multi-picklist, per tenant.
public struct PicklistOption: Sendable, Codable, Equatable {
    public var value: String
    public var labels: [String: String]
    public var color: String?
    public var active: Bool

    public init(value: String, labels: [String: String], color: String? = nil, active: Bool = true) {
        self.value = value
        self.labels = labels
        self.color = color
        self.active = active
    }

    enum CodingKeys: String, CodingKey { case value, labels, color, active }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        value = try c.decode(String.self, forKey: .value)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        color = try c.decodeIfPresent(String.self, forKey: .color)
        active = try c.decodeIfPresent(Bool.self, forKey: .active) ?? true
    }
}

/// A field of an entity: declared by a module (core) or added by a tenant admin (custom,
/// key prefixed `x_` so it can never collide with a module's field).
public struct FieldDefinition: Sendable, Codable, Equatable {
    public var key: String
    public var labels: [String: String]
    public var type: FieldType
    public var required: Bool = false
    public var unique: Bool = false
    /// Gets a typed index so filters and sorts on it stay fast.
    public var filterable: Bool = false
    public var searchable: Bool = false
    public var options: [PicklistOption]? = nil
    /// Entity key a lookup points to.
    public var target: String? = nil
    /// Digits after the decimal point (number, money, percent).
    public var scale: Int? = nil
    public var currency: String? = nil
    public var min: Decimal? = nil
    public var max: Decimal? = nil
    public var maxLength: Int? = nil
    public var pattern: String? = nil
    public var defaultValue: JSONValue? = nil
    /// Auto-number format: `{YYYY}`, `{MM}` and `{seq:5}` placeholders, e.g. `SO-{YYYY}-{seq:5}`.
    public var format: String? = nil
    public var active: Bool = true
    public var isCustom: Bool = false
    /// Set by a module's rules (totals, probability), read-only for every caller.
    public var computed: Bool = false

    public init(key: String, labels: [String: String], type: FieldType) {
        self.key = key
        self.labels = labels
        self.type = type
    }

    enum CodingKeys: String, CodingKey {
        case key, labels, type, required, unique, filterable, searchable, options, target, scale, currency
        case min, max, maxLength, pattern, defaultValue, format, active, isCustom, computed
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decode(String.self, forKey: .key)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        type = try c.decode(FieldType.self, forKey: .type)
        required = try c.decodeIfPresent(Bool.self, forKey: .required) ?? false
        unique = try c.decodeIfPresent(Bool.self, forKey: .unique) ?? false
        filterable = try c.decodeIfPresent(Bool.self, forKey: .filterable) ?? false
        searchable = try c.decodeIfPresent(Bool.self, forKey: .searchable) ?? false
        options = try c.decodeIfPresent([PicklistOption].self, forKey: .options)
        target = try c.decodeIfPresent(String.self, forKey: .target)
        scale = try c.decodeIfPresent(Int.self, forKey: .scale)
        currency = try c.decodeIfPresent(String.self, forKey: .currency)
        min = try c.decodeIfPresent(Decimal.self, forKey: .min)
        max = try c.decodeIfPresent(Decimal.self, forKey: .max)
        maxLength = try c.decodeIfPresent(Int.self, forKey: .maxLength)
        pattern = try c.decodeIfPresent(String.self, forKey: .pattern)
        defaultValue = try c.decodeIfPresent(JSONValue.self, forKey: .defaultValue)
        format = try c.decodeIfPresent(String.self, forKey: .format)
        active = try c.decodeIfPresent(Bool.self, forKey: .active) ?? true
        isCustom = try c.decodeIfPresent(Bool.self, forKey: .isCustom) ?? false
        computed = try c.decodeIfPresent(Bool.self, forKey: .computed) ?? false
    }

    public func label(_ locale: String) -> String { labels[locale] ?? labels["en"] ?? key }
}

/// An entity: declared by a module manifest or created by a tenant admin (custom object,
/// key prefixed `x_`).
public struct EntityDefinition: Sendable, Codable, Equatable {
    public var key: String
    public var labels: [String: String]
    public var fields: [FieldDefinition]
    public var titleField: String
    public var listColumns: [String]
    /// `field` or `-field` (descending).
    public var defaultSort: String
    public var isCustom: Bool = false
    /// Module that declares it; nil for custom objects.
    public var module: String? = nil
    /// Org-wide "public read" (Salesforce's sharing default for reference data such as the
    /// product catalog or pipeline stages): whoever may read it at all reads every record;
    /// writes keep the roles' scopes.
    public var publicRead: Bool = false
    /// Reference data a module seeds and maintains (pipeline stages, expense categories): not
    /// counted toward a plan's record limit. Module-only, like `publicRead`.
    public var referenceData: Bool = false
    /// A title field per language where the record has one (e.g. a stage's `name_en` for
    /// `en`); `titleField` otherwise. Module-only, like `publicRead`.
    public var localizedTitles: [String: String] = [:]
    /// The module's default detail layout (``ModuleManifest/layouts``); empty: one section with
    /// every field. Module-only, like `publicRead`.
    public var defaultSections: [LayoutSection] = []
    /// The tenant's automation rules on this entity (``AutomationRule``), loaded and cached with
    /// the rest of the tenant's metadata. Not coded: rules live in `automation_rules`.
    public var automationRules: [AutomationRule] = []

    /// The record's title in `locale`: its localized title field when filled, else `titleField`.
    public func title(of record: Record, locale: String) -> String? {
        if let key = localizedTitles[locale], let text = record.values[key]?.stringValue, !text.isEmpty { return text }
        return record.values[titleField]?.stringValue
    }

    /// Stored custom objects predate `publicRead` (module-only), so it is not coded.
    enum CodingKeys: String, CodingKey {
        case key, labels, fields, titleField, listColumns, defaultSort, isCustom, module
    }

    public init(key: String, labels: [String: String], fields: [FieldDefinition], titleField: String,
                listColumns: [String], defaultSort: String = "-created_at", module: String? = nil) {
        self.key = key
        self.labels = labels
        self.fields = fields
        self.titleField = titleField
        self.listColumns = listColumns
        self.defaultSort = defaultSort
        self.module = module
    }

    public func field(_ key: String) -> FieldDefinition? {
        fields.first { $0.key == key }
    }

    public var activeFields: [FieldDefinition] { fields.filter(\.active) }
    public var searchableFields: [FieldDefinition] { fields.filter { $0.active && ($0.searchable || $0.key == titleField) } }
}

/// A section of a detail layout: a title per locale, 1–3 columns, field keys in order.
public struct LayoutSection: Sendable, Equatable {
    public let titles: [String: String]
    public let columns: Int
    public let fields: [String]

    public init(titles: [String: String], columns: Int = 2, fields: [String]) {
        self.titles = titles
        self.columns = columns
        self.fields = fields
    }
}

/// Columns every record has, usable in filters and sorts next to the entity's fields
/// (`department_id` is the owner's department, e.g. for an approval process per department).
/// `last_activity_at` is the last follow-up (activities module); `pool_id` the pool (公海)
/// a record waits in, without owner.
public enum SystemField: String, CaseIterable, Sendable {
    case id, owner_id, created_by, created_at, updated_by, updated_at, version, department_id, last_activity_at, pool_id

    var column: String { "r.\(rawValue)" }
    var isTime: Bool { self == .created_at || self == .updated_at || self == .last_activity_at }
    /// NOT NULL columns of `records`.
    var isNeverNull: Bool { [.id, .created_at, .updated_at, .version].contains(self) }
}
