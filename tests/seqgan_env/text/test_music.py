from fractions import Fraction

import pytest

from seqgan_env.text.music import (
    abc_files,
    key_accidentals,
    music_sequences,
    parse_abc,
    pitch_mse,
    pitch_windows,
    sample_pitches,
    tune_events,
)

E = Fraction(1, 8)


def test_key_signatures_with_modes_and_explicit_accidentals():
    assert key_accidentals("C") == {} and key_accidentals("Am") == {} and key_accidentals("Gmix") == {}
    assert key_accidentals("D") == {"F": 1, "C": 1}
    assert key_accidentals("Ador") == {"F": 1}
    assert key_accidentals("F#m") == {"F": 1, "C": 1, "G": 1}
    assert key_accidentals("Bb") == {"B": -1, "E": -1}
    assert key_accidentals("Dm") == {"B": -1}
    assert key_accidentals("Eminor") == {"F": 1}
    assert key_accidentals("D exp ^f") == {"F": 1}
    assert key_accidentals("none") == {}


def test_events_cover_accidentals_rhythm_tuplets_chords_and_inline_fields(fixtures):
    tunes = parse_abc((fixtures / "music" / "oneills1850" / "scales.abc").read_text())
    assert [t.title for t in tunes][0] == "G major scale up and down" and len(tunes) == 2
    ev = tune_events(tunes[1])
    assert ev[:9] == [
        (62, 2 * E),  # D2 (the "Dm" chord symbol is skipped)
        (66, E),  # ^F
        (66, E * Fraction(3, 2)),  # F> keeps the bar's sharp, dotted
        (64, E / 2),  # E halved
        (62, E * Fraction(2, 3)), (64, E * Fraction(2, 3)), (65, E * Fraction(2, 3)),  # (3DEF, F natural again
        (69, 2 * E),  # {g} grace skipped, [CEA]2: the top note
        (None, E),  # z
    ]
    assert ev[9:14] == [(57, 2 * E), (59, E), (59, E), (57, E), (55, E)]  # A,2 =B, B, A, G,
    assert ev[14:17] == [(86, 2 * E), (86, E), (84, 3 * E)]  # d'2 d' c'3
    assert ev[-2:] == [(66, Fraction(1, 4)), (73, Fraction(1, 4))]  # [K:D] [L:1/4] F c -> F#, C#


def test_sampling_holds_through_rests_and_windows(fixtures):
    tunes = parse_abc((fixtures / "music" / "oneills1850" / "scales.abc").read_text())
    keys = sample_pitches(tune_events(tunes[0]))
    assert keys[:9] == [47, 49, 51, 52, 54, 56, 58, 59, 59]  # G4 = key 47 ... f# g
    assert len(keys) == 64 and len(pitch_windows(keys, 32)) == 2
    assert sample_pitches([(None, E), (60, E), (None, 2 * E), (62, E)], E) == [40, 40, 40, 42]
    assert pitch_windows(list(range(70)), 32) == [list(range(32)), list(range(32, 64))]


def test_fixture_collections_to_sequences(fixtures):
    files = abc_files(fixtures / "music", ["oneills1850", "ryansMammoth", "airdsAirs", "miscFolk"])
    seqs = music_sequences(files)
    assert len(files) == 4 and len(seqs) >= 5 and all(len(s) == 32 for s in seqs)
    assert all(1 <= k <= 88 for s in seqs for k in s)
    assert len(music_sequences(files, max_windows=1)) == 5
    with pytest.raises(FileNotFoundError):
        abc_files(fixtures / "music", ["nottingham"])


def test_pitch_mse_uses_the_nearest_reference():
    refs = [[40] * 4, [50] * 4]
    assert pitch_mse([[40] * 4], refs) == 0.0
    assert pitch_mse([[42] * 4, [49, 49, 49, 49]], refs) == pytest.approx((4.0 + 1.0) / 2)
    with pytest.raises(ValueError):
        pitch_mse([[1, 2]], refs)
