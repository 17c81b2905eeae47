"""Writes the constructed .fam files of this folder, laid out line by line as pedFamilias'
readFam (R/readFam.R) reads a Familias 3 file. Run: python tests/data/familias/make_files.py"""
from pathlib import Path

D = Path(__file__).resolve().parent
LOCI = [("L1", [("10", .2), ("11", .3), ("12", .5)]),
        ("L2", [("7", .4), ("8", .6)]),
        ("L3", [("14", .1), ("15", .3), ("16", .2), ("17", .4)])]
G = {"AF": [(0, 1, 0), (0, 1, 1), (0, 2, 2)],     # 10/11, 7/8, 14/16
     "MO": [(2, 2, 0), (0, 1, 1), (1, 3, 2)],     # 12/12, 7/8, 15/17
     "CH": [(1, 2, 0), (1, 1, 1), (2, 3, 2)]}     # 11/12, 8/8, 16/17
SEX = {"AF": True, "MO": False, "CH": True}

def fam(persons, peds, rates=((0, 0),), models=(0, 0), theta="0", silent=None, dropout_person=None,
        dropout=0, genos=G, shared=(0, 0, [])):
    out = ['"Output from Familias, version 3.3.1"', '"DO NOT EDIT!"', "3.3.1", '""', str(len(persons))]
    for p in persons:
        out += [f'"{p}"', "#FALSE#", "-1 (Consider dropouts)" if p == dropout_person else "-1", "#FALSE#",
                "#TRUE#" if SEX[p] else "#FALSE#", str(len(genos[p]))]
        for a, b, m in genos[p]:
            out += [str(a), str(b), str(m)]
    out += ['"Known relations"', str(shared[0]), str(shared[1]), str(len(shared[2]))]
    for a, b in shared[2]:
        out += [str(a), str(b)]
    out += [str(len(peds))]
    for i, (name, nf, nm, rels) in enumerate(peds):
        out += [str(i), f'"{name}"', str(nf), str(nm), str(len(rels))]
        for a, b in rels:
            out += [str(a), str(b)]
    out += [f"#FALSE# (#Databases: 1 ;Theta/Kinship/Fst: {theta} )", str(len(LOCI)), "#TRUE#", '"hand"']
    for k, (name, als) in enumerate(LOCI):
        rf, rm = rates[0]
        sil = silent if (silent and k == 0) else None
        out += [f'"{name}"', str(rf), str(rm), str(models[0]), str(models[1]), str(len(als) + 1),
                "0.1", "0.1", "1e-006", "1e-006", "#TRUE#" if sil else "#FALSE#", str(sil or 0),
                f"{len(als)}\t(DatabaseSize = 1000 , Dropout probability = {dropout} , Minor allele frequency = 0 )"]
        for a, f in als:
            out += [f'"{a}"', repr(f)]
    return "\r\n".join(out) + "\r\n"     # Familias writes Windows line ends

# duo: AF (0), CH (1); pedigrees Paternity (AF -> CH) and Unrelated
(D / "duo.fam").write_text(fam(["AF", "CH"], [("Paternity", 0, 0, [(0, 1)]), ("Unrelated", 0, 0, [])]), newline="")
# duo with the equal model, male rate 0.005, female 0.001
(D / "duo_equal.fam").write_text(fam(["AF", "CH"], [("Paternity", 0, 0, [(0, 1)]), ("Unrelated", 0, 0, [])],
                                     rates=((0.001, 0.005),)), newline="")
# trio: AF 0, MO 1, CH 2; Trio; Mother only; Grandfather (extra male 3: AF -> 3 -> CH, MO -> CH); Unrelated
trio_peds = [("Trio", 0, 0, [(0, 2), (1, 2)]), ("Mother only", 0, 0, [(1, 2)]),
             ("Grandfather", 0, 1, [(0, 3), (3, 2), (1, 2)]), ("Unrelated", 0, 0, [])]
(D / "trio.fam").write_text(fam(["AF", "MO", "CH"], trio_peds), newline="")
# refusals
(D / "silent.fam").write_text(fam(["AF", "CH"], [("Paternity", 0, 0, [(0, 1)]), ("Unrelated", 0, 0, [])],
                                  silent=0.01), newline="")
(D / "dropout.fam").write_text(fam(["AF", "CH"], [("Paternity", 0, 0, [(0, 1)]), ("Unrelated", 0, 0, [])],
                                   dropout_person="CH", dropout=0.05), newline="")
(D / "stationary.fam").write_text(fam(["AF", "CH"], [("Paternity", 0, 0, [(0, 1)]), ("Unrelated", 0, 0, [])],
                                      rates=((0.001, 0.002),), models=(3, 3)), newline="")
(D / "theta.fam").write_text(fam(["AF", "CH"], [("Paternity", 0, 0, [(0, 1)]), ("Unrelated", 0, 0, [])],
                                 theta="0.02"), newline="")

# a shared extra: one extra male (index 2), the father of AF in every pedigree (known relation)
(D / "shared_extra.fam").write_text(fam(["AF", "CH"], [("Paternity", 0, 0, [(0, 1)]), ("Unrelated", 0, 0, [])],
                                        shared=(0, 1, [(2, 0)])), newline="")
