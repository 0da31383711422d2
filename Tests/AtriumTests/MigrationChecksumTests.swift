import AtriumApp
import Platform
import Testing

/// An applied migration must never change (the migrator refuses a database whose applied
/// migration's checksum differs): these are the checksums as released. A migration built from
/// live Swift values (default roles, plan defaults) would drift silently — this test catches it.
@Suite struct MigrationChecksumTests {
    static let released: [Int: String] = [
        1: "1b916e88f7710a1c42df92739cf0fbbec10df0e5241f9f3249c1edc32d90cc55",
        2: "1b713896b50f097591b878add144adf34c73be9501d05eff7a8aaa790ae83e37",
        3: "535943421529269078650d810029c87837972b9406452f09e7ce443299286889",
        4: "95324d36dc375526968c50fcfeae8d895aefe370267b27703b098ed681754f8b",
        5: "df660174380dfcc27bd6c422a9dba689e250eaef06835ca3608e5a7eda97e70f",
        6: "7041677efcb3c83420b3002b958a7647ba62126b7177d20c7616f23592c5225c",
        7: "7bdd1bc9662247e86cced9bb0afe4171a5d397d6ae29a53f6d8129559d447dd7",
        8: "8f26fe2557e1b91f0a13bc98bba0ddd889f7a520f2a7b05b613132b7cfbb52e7",
        9: "ece7304989edbc602548eb4950eae379a4e445d30f8fceec4d3c912ac27290eb",
        10: "b80b28f928dd7524e42caa38d63c79e4b710e81dcea4bcb6e2cb78a92c065463",
        11: "1ce0152bb89c60b7d279d175be2fcf2aa5240fdd37295383090da8c7d7e6caae",
        12: "a1b54d449e7191636014b8baaa9f9934991fb085662c11d50f15973008cef5d4",
        13: "e192d1677ec8626d509d525e466d1d6a8d6fa618c91efcf7dc19ce6d158438ce",
        14: "1eafe43d472e0bc8f47fd33998f4093c8ac9e1b3c326e8eb2135b7d06a5a33d9",
        15: "ebdb92a0881aa68fb9cb7365fe22ff8d25d6842348add649d249951d7a060395",
        16: "d1ae0ef07396cab25df07c963aad70222396b2251dcbf5b91836c6a661661d65",
        17: "a53c313266efa0c1cc8ba2240157415e55964ac8d5255f5473b6e3f12407da7f",
        18: "ef8e744c42728ead543a76163c1d95acd8840854c1c726f972cb13579f53087d",
        19: "25f669dee8912c14d7f62c85dd87b4b8c77859d04226072cc6f65f3d6aab1393",
        20: "036d7514c9d5918ce24d6285560ef37196121d1ae8d00b05f25cc7912e08f3d1",
        21: "47552367a43a53b7414552f0898fc28129d22eb68f45fc6776dc2a1dc5a4a3ca",
        22: "afd3526493c5cc2939e25c107eaba865b61bfd2764c8cebbc3dc42975deb10dc",
        23: "f3ec4352bd1062525d5905b0c7afd21ae276a9fc5ba1cc96e9d26898a8bbf62b",
        24: "0c0c072ce9a2019de9bfdd4f4ae2f7b5c1476aa016f36df31afcf2dadd7b378a",
        25: "44be0c22aacb5161200dddadc0f98e598f2c061ddf107c5bdfd30a1629782315",
        26: "a267de0709177fd734e2dd783818de50c507ecc033d63161cc4e26ec19027669",
        27: "8ecd7f38d11fa7565afa21f17d583bc58883b2247e8bb3ce5e6e471d86fb8016",
        28: "62f92e1048fda224ece3fb1b34dd51aba7a08082b0ed7c38a6898645a14c7505",
        29: "4efa6c8b3a405a4e0e154466178a532e3020d63c3145379403d75ed32fb83c5f",
        30: "28cc8bd6304afaf669639cf71225b68e15630ec96920a5e6d0d08484ceee468f",
    ]

    @Test func releasedMigrationsKeepTheirChecksums() {
        let current = Dictionary(uniqueKeysWithValues: AtriumHost.migrations.map { ($0.version, $0.checksum) })
        for (version, checksum) in Self.released.sorted(by: { $0.key < $1.key }) {
            #expect(current[version] == checksum, "migration \(version) changed after release; add a new migration instead")
        }
    }
}
