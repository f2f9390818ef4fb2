"""Bytes to text as mail clients decode them: charset labels are read by the WHATWG
Encoding Standard (the `webencodings` package), which is what browsers and today's mail
clients (Thunderbird's encoding_rs) use, not by Python's codec names.

So `iso-8859-1`, `latin1` and `us-ascii` mean windows-1252 (0x80-0x9F are €, ƒ, „, …
and so on, not C1 controls), `gb2312` and `gbk` mean GB18030, `shift_jis` means Windows-932,
`euc-kr` Windows-949, `big5` Big5-HKSCS, `tis-620` windows-874, and so on.

Deviations, on purpose:
- a body under a label that does not decode cleanly is tried as UTF-8 (mislabelled
  UTF-8 is the commonest fault in mail), then decoded with replacement characters;
- the five bytes windows-1252 leaves undefined (0x81 0x8D 0x8F 0x90 0x9D) become U+FFFD,
  not invisible C1 controls;
- labels the standard maps to "replacement" (ISO-2022-KR, HZ-GB-2312, ...) are decoded
  with Python's codec of that name when it has one, else they become one U+FFFD.
"""

import codecs

import webencodings

# The standard's GBK decoder is its GB18030 decoder (a superset); webencodings maps
# GBK to Python's narrower "gbk" codec.
_PYTHON_CODEC = {"gbk": "gb18030", "windows-1252": "cp1252"}
_ASCII_LABELS = {"us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us", "cp367", "ibm367"}


def codec_for(label: str | None) -> str | None:
    """The Python codec that decodes text labelled `label` as the WHATWG standard says;
    None for an unknown label."""
    if not label:
        return None
    label = label.strip().strip('"').strip()
    found = webencodings.lookup(label)
    if found is None:
        return None
    if found.name == "replacement":
        try:
            return codecs.lookup(label).name
        except LookupError:
            return "replacement"
    return _PYTHON_CODEC.get(found.name, found.codec_info.name)


def _strict(data: bytes, codec: str) -> str | None:
    if codec == "replacement":
        return None
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_bytes(data: bytes, label: str | None) -> str:
    """Decode text declared as `label`; never raises.

    The declared charset (WHATWG meaning), then UTF-8, then the declared charset (or,
    for UTF-8 and unknown labels, windows-1252) with replacement characters. 8-bit
    bytes under an ASCII label are mislabelled: UTF-8 is tried before windows-1252."""
    codec = codec_for(label)
    if label and label.strip().strip('"').lower() in _ASCII_LABELS and not data.isascii():
        codec = "utf-8" if _strict(data, "utf-8") is not None else "cp1252"
    for candidate in (codec, "utf-8"):
        if candidate:
            text = _strict(data, candidate)
            if text is not None:
                return text
    if codec == "replacement":
        return "\ufffd" if data else ""
    fallback = codec if codec not in (None, "utf-8") else "cp1252"
    return data.decode(fallback, errors="replace")
