import Foundation
import Platform

/// Shorthands modules use to declare their entities' fields (labels in English and Chinese).
protocol EntityDeclarations {}

extension EntityDeclarations {
    static func field(_ key: String, _ en: String, _ zh: String, _ type: FieldType,
                      _ configure: (inout FieldDefinition) -> Void = { _ in }) -> FieldDefinition {
        var field = FieldDefinition(key: key, labels: ["en": en, "zh-CN": zh], type: type)
        configure(&field)
        return field
    }

    static func options(_ items: [(String, String, String)]) -> [PicklistOption] {
        items.map { PicklistOption(value: $0.0, labels: ["en": $0.1, "zh-CN": $0.2]) }
    }

    static func money(_ key: String, _ en: String, _ zh: String, computed: Bool = false, required: Bool = false, filterable: Bool = false) -> FieldDefinition {
        field(key, en, zh, .money) {
            $0.min = 0
            $0.computed = computed
            $0.required = required
            $0.filterable = filterable
        }
    }

    /// Reference data every user of the module reads in full (stages, catalog, categories).
    static func publicRead(_ entity: EntityDefinition) -> EntityDefinition {
        var entity = entity
        entity.publicRead = true
        return entity
    }
}
