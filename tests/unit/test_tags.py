"""Series and session tags read from real-looking stream titles."""

from __future__ import annotations

import pytest

from slipstream.models import Stream
from slipstream.tags import apply_tags, normalise, tag_title

TITLES: list[tuple[str, str | None, str | None]] = [
    # Formula 1, its channels and its names in other languages
    ("F1 TV", "f1", None),
    ("F1TV Pro - Main Feed", "f1", None),
    ("Sky Sports F1 HD", "f1", None),
    ("Formula 1 Bahrain Grand Prix - Race", "f1", "race"),
    ("Formula One: Monaco GP Qualifying", "f1", "qualifying"),
    ("F1 Gran Premio de España - Carrera", "f1", "race"),
    ("F1 Gran Premio - Clasificación", "f1", "qualifying"),
    ("Fórmula 1 - Entrenamientos Libres 2", "f1", "fp2"),
    ("Formula 1 Gran Premio d'Italia - Gara", "f1", "race"),
    ("F1 Prove Libere 3", "f1", "fp3"),
    ("Formel 1: 1. Freies Training", "f1", "fp1"),
    ("Formel 1 Qualifikation", "f1", "qualifying"),
    ("Formule 1 - Essais Libres 1", "f1", "fp1"),
    ("F1 Grande Prêmio do Brasil - Corrida", "f1", "race"),
    ("F1 British GP FP1", "f1", "fp1"),
    ("F1 Practice 2 | Silverstone", "f1", "fp2"),
    ("F1 Free Practice 3", "f1", "fp3"),
    ("F1 Q1", "f1", "qualifying"),
    ("F1 Qualifying Q3 onboard", "f1", "qualifying"),
    ("F1 Sprint Qualifying", "f1", "sprint-qualifying"),
    ("F1 Sprint Shootout - SQ2", "f1", "sprint-qualifying"),
    ("Formula 1 - SQ1", "f1", "sprint-qualifying"),
    ("F1 Sprint", "f1", "sprint"),
    ("F1 Sprint Race Miami", "f1", "sprint"),
    ("Formel 1 Sprint-Qualifikation", "f1", "sprint-qualifying"),
    ("Formule 1 Qualifications du Sprint", "f1", "sprint-qualifying"),
    ("Monaco Grand Prix", None, None),
    ("Monaco GP", None, None),
    ("F1 Japanese GP", "f1", None),
    ("F1 TV - Race Control", "f1", None),
    ("F1_Race_Replay", "f1", "race"),
    ("Main feed (1080p)", None, None),
    # Feeder series and their traps
    ("Formula E Diriyah E-Prix", "formula-e", None),
    ("ABB FIA Formula E - Race", "formula-e", "race"),
    ("Formula E on Sky Sports F1", "formula-e", None),
    ("Monaco E-Prix Qualifying", "formula-e", "qualifying"),
    ("F2 Feature Race", "f2", "race"),
    ("Formula 2 Sprint Race", "f2", "sprint"),
    ("FIA F3 Qualifying", "f3", "qualifying"),
    ("Formula 3 - Practice", "f3", "practice"),
    ("Sky Sports F1: F2 Sprint Race", "f2", "sprint"),
    ("F1 Academy Race 1", "f1-academy", "race"),
    # Motorcycles
    ("MotoGP Race", "motogp", "race"),
    ("MotoGP™ Tissot Sprint", "motogp", "sprint"),
    ("Moto GP - FP1", "motogp", "fp1"),
    ("Moto2 Qualifying Q2", "moto2", "qualifying"),
    ("Moto3™ Warm Up", "moto3", "practice"),
    ("MotoGP Practice", "motogp", "practice"),
    ("WorldSBK Superpole Race", "wsbk", "sprint"),
    ("WorldSBK Tissot Superpole", "wsbk", "qualifying"),
    # Rallying: stages are not races
    ("WRC Rally Finland SS5", "wrc", None),
    ("WRC Power Stage", "wrc", None),
    ("Rally Sweden - Shakedown", "wrc", "practice"),
    ("WRC2 Rallye Monte Carlo Stage 3", "wrc", None),
    ("Dakar Rally Stage 7", None, None),
    ("All Live - WRC Safari Rally Kenya", "wrc", None),
    # Endurance and America
    ("24 Hours of Le Mans", "wec", None),
    ("WEC 6 Hours of Spa - Hyperpole", "wec", "qualifying"),
    ("24 Heures du Mans - Course", "wec", "race"),
    ("IMSA Petit Le Mans", "imsa", None),
    ("Rolex 24 at Daytona", "imsa", None),
    ("12 Hours of Sebring", "imsa", None),
    ("Daytona 500", "nascar", None),
    ("NASCAR Cup Series - Practice", "nascar", "practice"),
    ("NTT IndyCar Series - Qualifying", "indycar", "qualifying"),
    ("Indy 500 Race", "indycar", "race"),
    ("IndyCar Top 12 Shootout", "indycar", "qualifying"),
    # Touring cars
    ("DTM Rennen 2", "dtm", "race"),
    ("BTCC Race 3", "btcc", "race"),
    ("Repco Supercars - Bathurst 1000", "supercars", None),
    ("Porsche Carrera Cup", None, None),
    ("Sprint Cars at Knoxville", None, None),
    # Not motorsport, or nothing to go on
    ("El Gran Premio de la Cocina", None, None),
    ("Weather channel HD", None, None),
    ("", None, None),
]


@pytest.mark.parametrize(("title", "series", "session"), TITLES)
def test_tag_title(title: str, series: str | None, session: str | None) -> None:
    assert tag_title(title) == (series, session)


def test_table_is_large() -> None:
    assert len(TITLES) >= 60


def test_normalise_drops_accents_symbols_and_underscores() -> None:
    assert normalise("Fórmula_1 — Clasificación™") == "formula 1 clasificacion"


def _stream(**fields: str | None) -> Stream:
    return Stream(url="https://cdn.example/a.m3u8", site_key="k", site_name="K", **fields)


def test_apply_tags_reads_title_then_group() -> None:
    stream = apply_tags(_stream(title="Qualifying", group="Formula 1"))
    assert (stream.series, stream.session_type) == ("f1", "qualifying")


def test_apply_tags_never_overwrites() -> None:
    stream = apply_tags(_stream(title="MotoGP Race", series="wsbk"))
    assert (stream.series, stream.session_type) == ("wsbk", "race")


def test_apply_tags_title_wins_over_group() -> None:
    stream = apply_tags(_stream(title="F2 Sprint Race", group="Formula 1 - Race"))
    assert (stream.series, stream.session_type) == ("f2", "sprint")


def test_apply_tags_leaves_untaggable_streams_alone() -> None:
    stream = apply_tags(_stream(title="Channel 5", group=None))
    assert (stream.series, stream.session_type) == (None, None)
