"""The data catalog at `/catalog`: which tenant delivers which profile, in what quality.

Not to be confused with `gateway/catalog.py`, the collections this gateway serves: this
package looks at those collections from outside, as a portal would. The figures are
computed by a background task (refresher.py) on a schedule and kept in memory; a request
only reads them, so `/catalog` answers from that cache whatever the sources cost.
"""
