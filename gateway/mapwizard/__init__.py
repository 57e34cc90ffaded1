"""The mapping wizard: `twinbridge map draft` proposes a collection's `mapping:` block from
a source's description and a sample; `twinbridge map check` counts, over the whole source,
what a mapping delivers and what fails.

The wizard knows no city: what a property may be called, which values its code list takes
and which factors convert a source's unit come from the profile (profile.yaml `synonyms`,
`code_synonyms`, `code_lists`; schema.json types, ranges and `x-ogc-unit`).
"""
