"""Constants of the wellbeing digest: how readings become daily figures, and how far a week
may stray from a household's own baseline."""

from typing import Final

# What the digest reads: events and telemetry (not status check-ins) of these device kinds.
ACTIVITY_KINDS: Final = frozenset({"motion", "door", "water"})
READ_CHANNELS: Final = frozenset({"event", "telemetry"})

MINUTE_MS: Final = 60_000
DAY_MS: Final = 24 * 60 * MINUTE_MS

# Activity is counted in slots: a slot with any movement is an active one, so that a chatty
# motion sensor and a sparse one give the same hours.
ACTIVITY_SLOT_MIN: Final = 10
# Movements closer than this are one bout (one trip to the bathroom at night), unless the
# resident went back to bed between them (BACK_IN_BED_MS).
NIGHT_BOUT_GAP_MS: Final = 15 * MINUTE_MS
# Back in bed: movement in a bedroom, then none outside the bedrooms for this long. It ends a
# trip out of bed whatever the gap to the next one; shorter is passing through the bedroom,
# or two devices' clocks (up to a minute apart) putting the bedroom before the trip's last
# movement.
BACK_IN_BED_MS: Final = 5 * MINUTE_MS
# The household's own sleep hours, learned from its nights: a bout of movement outside the
# bedrooms this long is being up (the evening, the morning), not a trip to the bathroom; a
# night's sleep is the longest quiet between two such bouts that overlaps the registered
# night hours (and no longer than a sleep can be: longer is an absence or a day in bed).
# Below MIN_SLEEP_NIGHTS such nights, the registered night hours are used.
AWAKE_BOUT_MS: Final = 30 * MINUTE_MS
MAX_SLEEP_MS: Final = 16 * 60 * MINUTE_MS
MIN_SLEEP_NIGHTS: Final = 3
# An outing: the front door opens, then no movement at home for at least OUTING_MIN_MS, and
# the door opens again just before movement resumes. The graces cover devices' clock skew
# (up to a minute between two devices) and the hall sensor seeing the one who leaves.
OUTING_MIN_MS: Final = 20 * MINUTE_MS
DOOR_BEFORE_GAP_MS: Final = 3 * MINUTE_MS
DOOR_AFTER_GAP_MS: Final = 2 * MINUTE_MS
# A meter reading's flow is taken to hold since the meter's previous reading, for at most
# this long (the slowest meters send a 15-minute average).
METER_MAX_INTERVAL_MS: Final = 15 * MINUTE_MS

# A week with fewer observed days has no figures (a sensor outage is not a quiet week).
MIN_DAYS_PER_WEEK: Final = 3
# Weeks of the household's own history a drift needs before it is scored.
MIN_BASELINE_WEEKS: Final = 2
DEFAULT_WEEKS: Final = 6  # the week shown and the five before it
MAX_WEEKS: Final = 26
# MAD to a normal standard deviation.
MAD_TO_SD: Final = 1.4826
# One metric adds at most this much to the score: a dead sensor is one strong signal, not
# an unbounded one that hides every other household.
MAX_METRIC_SCORE: Final = 6.0
# A drift score from here on means "needs a visit": two metrics about 2.5 spreads the
# concerning way, or one very far.
VISIT_SCORE: Final = 5.0
# A nightly count (trips out of bed) this many spreads up also needs a visit on its own: it
# is judged by an exact count test (wellbeing/_count_drift.py), whose z is a known risk
# (3 is about 1 in 700 runs of nights of a steady household), unlike the floored spreads of
# the other figures, which need a second figure to agree.
COUNT_VISIT_Z: Final = 3.0
# The baseline rate of a nightly count is at least this (one trip a week): weeks without a
# trip do not make one trip a change.
COUNT_RATE_FLOOR: Final = 1 / 7
# A few weeks say little about how much more than a Poisson count a household's weeks
# swing: their dispersion is shrunk towards Poisson's by this many weeks' worth.
COUNT_DISPERSION_PRIOR_WEEKS: Final = 2
# A week that looks like a change is kept out of the next week's baseline (river's filter):
# a change that starts late in one week is not learned as normal before the week that holds
# most of it is judged. It looks like one from two thirds of a visit's bar: a nightly
# count's highest run this many spreads up.
COUNT_LEARN_Z: Final = 2.0
