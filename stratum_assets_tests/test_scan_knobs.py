"""The scan's knobs, written once (``ScanKnobs``): the run config of ``scan_partition`` users type, and what the
plain pipeline reads."""

import dataclasses

import pytest

from stratum_assets.assets.scanning import ScanConfig, scan_partition
from stratum_assets.dedup.fingerprint import NearDupSettings
from stratum_assets.scanning.pipeline import ScanKnobs, ScanSettings

# The launchpad's keys of scan_partition and their defaults, as they were before the knobs were written once
# (saved run configs and the README's examples use these names).
UI_CONFIG = {
    "workers": 4,
    "clone_timeout_s": 300.0,
    "clone_attempts": 3,
    "partial_clone": True,
    "progress_every": 25,
    "clones_per_minute": None,
    "rate_limit_backoff_s": None,
    "max_checkout_files": 20_000,
    "max_checkout_mb": 200,
    "max_file_mb": 20,
    "near_dup_shingle_size": 10,
    "near_dup_num_perm": 128,
}


def test_the_ui_config_of_scan_partition_keeps_its_keys_and_defaults():
    schema = scan_partition.op.config_schema.as_field().config_type.fields  # what the launchpad shows
    assert list(schema) == list(UI_CONFIG)
    assert {key: field.default_value for key, field in schema.items()} == UI_CONFIG
    assert all(field.description for field in schema.values()), "each knob says what it sets"


def test_the_pipeline_reads_the_knobs_the_run_config_set():
    config = ScanConfig(
        clone_timeout_s=12.5, workers=2, max_checkout_mb=8, near_dup_shingle_size=7, near_dup_num_perm=64
    )
    assert isinstance(config, ScanKnobs)
    settings = ScanSettings(knobs=config, scan_timeout=30)
    assert (settings.knobs.clone_timeout_s, settings.knobs.workers) == (12.5, 2)
    assert settings.knobs.checkout_limits().max_bytes == 8 << 20
    assert settings.near_dup == dataclasses.replace(NearDupSettings(), shingle_size=7, num_perm=64)
    assert ScanSettings().near_dup == NearDupSettings(), "the default knobs: the dedup's own settings"


def test_knobs_the_fingerprints_cannot_use_are_refused_before_any_clone():
    with pytest.raises(ValueError):
        ScanSettings(knobs=ScanKnobs(near_dup_num_perm=0))
