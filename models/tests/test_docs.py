import os
import re

from models.ssdh.contract import KEYS
from models.ssdh.samples import ROOT


def test_encoder_doc_lists_exactly_the_contract_keys():
    text = open(os.path.join(ROOT, "docs", "ENCODER.md"), encoding="utf-8").read()
    documented = set(re.findall(r"`(hamdb\.[a-z_]+)`", text))
    assert documented == set(KEYS)
