"""Genotype indices, allele codes and the rare-allele floor."""

import numpy as np

from reunion.encoding import Encoding, genotype_index, genotype_pairs, n_genotypes


def test_genotype_index_layout_by_hand():
    # codes (lo, hi) -> 1 + hi(hi+1)/2 + lo: (0,0)->1, (0,1)->2, (1,1)->3, (0,2)->4, (2,2)->6
    assert [int(genotype_index(a, b)) for a, b in [(0, 0), (1, 0), (1, 1), (2, 0), (2, 2)]] == [1, 2, 3, 4, 6]
    assert n_genotypes(3) == 7  # untyped + 6 unordered pairs
    lo, hi = genotype_pairs(3)
    assert lo.tolist() == [0, 0, 1, 0, 1, 2] and hi.tolist() == [0, 1, 1, 2, 2, 2]


def test_decode_round_trip(asian_table):
    enc = Encoding.build(asian_table, {}, 0.001)
    for l, lc in enumerate(enc.loci):
        for a in range(lc.n_alleles):
            for b in range(a, lc.n_alleles):
                assert enc.decode(l, int(genotype_index(a, b))) == (a, b)
    assert enc.decode(0, 0) is None
    assert enc.width == sum(n_genotypes(lc.n_alleles) for lc in enc.loci)
    assert enc.offsets[1] == n_genotypes(enc.loci[0].n_alleles)


def test_rare_allele_gets_5_over_2N(asian_table):
    # NIST Asian: N = 97 people at TH01 -> 5 / (2 * 97) = 0.0257731958...
    enc = Encoding.build(asian_table, {"TH01": {"13.3"}}, 0.001)
    lc = enc.loci[enc.index["TH01"]]
    assert lc.alleles[-1] == "13.3" and lc.floored[-1] and not lc.floored[:-1].any()
    assert np.isclose(lc.frequencies[-1], 5 / 194, rtol=0, atol=1e-15)
    # the encoding survives its Arrow round trip
    back = Encoding.from_table(enc.to_table(), enc.population, enc.table_sha256)
    assert back.locus_names == enc.locus_names
    assert np.array_equal(back.loci[enc.index["TH01"]].frequencies, lc.frequencies)
