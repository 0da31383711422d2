import Foundation
import Modules
import Platform
import Testing

@Suite struct ModuleCatalogTests {
    func parse(_ json: String, compiled: [ModuleManifest] = BuiltInModules.all) throws -> ModuleCatalog {
        try ModuleCatalog.parse(Data(json.utf8), compiledIn: compiled)
    }

    func failure(_ json: String, compiled: [ModuleManifest] = BuiltInModules.all) -> String {
        do {
            _ = try parse(json, compiled: compiled)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func theRepositoryCatalogLoadsInDependencyOrder() throws {
        let catalog = try TestEnvironment.catalog()
        let ids = catalog.entries.map(\.id)
        #expect(Set(ids) == ["sales", "marketing", "service", "knowledge", "expenses", "activities", "purchasing"])
        #expect(ids.firstIndex(of: "sales")! < ids.firstIndex(of: "marketing")!)
        #expect(catalog.defaultModules(plan: "trial").sorted() == ["activities", "expenses", "knowledge", "sales", "service"])
    }

    @Test func aModuleThatIsNotCompiledInIsRefusedByName() {
        #expect(failure(#"{"modules":[{"id":"crm_x","version":"1","depends":[],"plans":[]}]}"#)
            == "plugins.json lists module 'crm_x', which is not compiled into this build")
    }

    @Test func aDependencyTheFileDoesNotListIsRefused() {
        #expect(failure(#"{"modules":[{"id":"marketing","version":"1","depends":["sales"],"plans":[]}]}"#)
            == "module 'marketing' depends on 'sales', which plugins.json does not list")
    }

    @Test func aDependencyCycleIsRefusedWithItsPath() {
        let compiled = [ModuleManifest(id: "a", version: "1", names: [:], depends: ["b"]),
                        ModuleManifest(id: "b", version: "1", names: [:], depends: ["a"])]
        let message = failure(#"{"modules":[{"id":"a","version":"1","depends":[],"plans":[]},{"id":"b","version":"1","depends":[],"plans":[]}]}"#, compiled: compiled)
        #expect(message == "module dependency cycle: a → b → a")
    }

    @Test func duplicatesAndMalformedFilesAreRefused() {
        #expect(failure(#"{"modules":[{"id":"sales","version":"1","depends":[],"plans":[]},{"id":"sales","version":"1","depends":[],"plans":[]}]}"#)
            == "plugins.json lists module 'sales' twice")
        #expect(failure(#"{"modules": 3}"#).hasPrefix("plugins.json is not a valid module catalog"))
    }
}
