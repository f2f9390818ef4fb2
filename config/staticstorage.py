"""The static files storage of `make serve` and deploy/: WhiteNoise's compressed,
hashed storage, without rewriting `sourceMappingURL` comments.

Vendored libraries (static/vendor/) ship minified files whose last line names a source
map we do not vendor; Django's manifest storage would refuse to collect them for the
missing map. A map is only a developer tool, so those comments are left as they are
(a browser's devtools gets a 404 for the map, nobody else asks); CSS `url()` and
`@import` are still rewritten to the hashed names.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns):
    kept = []
    for glob, rules in patterns:
        rules = tuple(
            r for r in rules if "sourceMappingURL" not in (r[0] if isinstance(r, tuple) else r)
        )
        if rules:
            kept.append((glob, rules))
    return tuple(kept)


class StaticStorage(CompressedManifestStaticFilesStorage):
    patterns = _without_source_maps(CompressedManifestStaticFilesStorage.patterns)
