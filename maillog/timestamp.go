package maillog

import (
	"strings"
	"time"
)

// months maps lower-cased month abbreviations to months, for syslog
// stamps written under a non-English locale (rsyslog and syslog-ng use
// strftime's %b, so de_DE writes "Mär", "Okt", "Dez", fr_FR "févr.",
// "déc."). A trailing dot is removed before the lookup. The languages
// agree where they share a spelling ("mai" is May in German, French and
// Portuguese; "mar" March in Spanish, Italian and Portuguese).
var months = map[string]time.Month{
	// English (C locale)
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
	// German
	"mär": 3, "mrz": 3, "mai": 5, "okt": 10, "dez": 12,
	// French
	"janv": 1, "févr": 2, "fév": 2, "mars": 3, "avr": 4, "avril": 4, "juin": 6,
	"juil": 7, "août": 8, "aoû": 8, "sept": 9, "déc": 12,
	// Spanish
	"ene": 1, "abr": 4, "ago": 8, "dic": 12,
	// Italian
	"gen": 1, "mag": 5, "giu": 6, "lug": 7, "set": 9, "ott": 10,
	// Dutch
	"mrt": 3, "mei": 5,
	// Portuguese
	"fev": 2, "out": 10,
}

// englishMonth is the fast path for the C locale: three ASCII letters.
func englishMonth(s string) time.Month {
	if len(s) != 3 {
		return 0
	}
	switch s {
	case "Jan":
		return 1
	case "Feb":
		return 2
	case "Mar":
		return 3
	case "Apr":
		return 4
	case "May":
		return 5
	case "Jun":
		return 6
	case "Jul":
		return 7
	case "Aug":
		return 8
	case "Sep":
		return 9
	case "Oct":
		return 10
	case "Nov":
		return 11
	case "Dec":
		return 12
	}
	return 0
}

// lookupMonth accepts English and the localized abbreviations above.
func lookupMonth(s string) time.Month {
	if m := englishMonth(s); m != 0 {
		return m
	}
	if len(s) < 3 || len(s) > 7 {
		return 0
	}
	return months[strings.TrimSuffix(strings.ToLower(s), ".")]
}

// digits parses s[i:i+n] as a decimal number.
func digits(s string, i, n int) (int, bool) {
	if i < 0 || i+n > len(s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s[i : i+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// clock parses "hh:mm:ss" at s[i:].
func clock(s string, i int) (h, m, sec int, ok bool) {
	if i+8 > len(s) || s[i+2] != ':' || s[i+5] != ':' {
		return 0, 0, 0, false
	}
	var ok1, ok2, ok3 bool
	h, ok1 = digits(s, i, 2)
	m, ok2 = digits(s, i+3, 2)
	sec, ok3 = digits(s, i+6, 2)
	return h, m, sec, ok1 && ok2 && ok3 && h < 24 && m < 60 && sec < 61
}

// fraction parses ".ffffff" (1–9 digits) at s[i:], returning nanoseconds
// and the bytes consumed (0 when there is no fraction).
func fraction(s string, i int) (ns int, n int) {
	if i >= len(s) || s[i] != '.' {
		return 0, 0
	}
	j := i + 1
	for j < len(s) && j-i-1 < 9 && s[j] >= '0' && s[j] <= '9' {
		ns = ns*10 + int(s[j]-'0')
		j++
	}
	if j == i+1 {
		return 0, 0
	}
	for k := j - i - 1; k < 9; k++ {
		ns *= 10
	}
	// digits beyond nanoseconds are ignored
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return ns, j - i
}

// zone parses "Z", "+hh:mm" or "+hhmm" (journalctl short-iso writes the
// offset without a colon) at s[i:]. It returns the offset in seconds, the
// bytes consumed and whether a zone was present.
func zone(s string, i int) (off int, n int, ok bool) {
	if i >= len(s) {
		return 0, 0, false
	}
	switch s[i] {
	case 'Z':
		return 0, 1, true
	case '+', '-':
	default:
		return 0, 0, false
	}
	sign := 1
	if s[i] == '-' {
		sign = -1
	}
	hh, ok1 := digits(s, i+1, 2)
	if !ok1 {
		return 0, 0, false
	}
	j := i + 3
	if j < len(s) && s[j] == ':' {
		j++
	}
	mm, ok2 := digits(s, j, 2)
	if !ok2 {
		return 0, 0, false
	}
	return sign * (hh*3600 + mm*60), j + 2 - i, true
}

// zoneCache keeps one *time.Location per offset so that equal offsets
// give equal locations without an allocation per line.
type zoneCache map[int]*time.Location

func (z zoneCache) get(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	if l, ok := z[off]; ok {
		return l
	}
	l := time.FixedZone("", off)
	z[off] = l
	return l
}

// isoStamp parses "YYYY-MM-DD[T ]hh:mm:ss[.frac][zone]" at the start of
// s. spaceZone also accepts " +hhmm" after the time (Exim's
// log_timezone). Without a zone the time is in loc. It returns the time
// and the bytes consumed.
func (z zoneCache) isoStamp(s string, loc *time.Location, spaceZone bool) (time.Time, int, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') {
		return time.Time{}, 0, false
	}
	y, ok1 := digits(s, 0, 4)
	mo, ok2 := digits(s, 5, 2)
	d, ok3 := digits(s, 8, 2)
	h, mi, sec, ok4 := clock(s, 11)
	if !ok1 || !ok2 || !ok3 || !ok4 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}, 0, false
	}
	n := 19
	ns, fn := fraction(s, n)
	n += fn
	if off, zn, ok := zone(s, n); ok {
		loc = z.get(off)
		n += zn
	} else if spaceZone && n < len(s) && s[n] == ' ' {
		if off, zn, ok := zone(s, n+1); ok && zn == 5 {
			loc = z.get(off)
			n += 1 + zn
		}
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, ns, loc), n, true
}

// syslogStamp parses RFC 3164's "Mmm dd hh:mm:ss" (day space-padded, or
// zero-padded as journalctl's short format and Postfix's maillog_file
// write it), with an optional fraction (journalctl short-precise) and a
// localized month. The year is not in the stamp: yearOf supplies it.
func syslogStamp(s string, yearOf func(time.Month, int) int, loc *time.Location) (time.Time, int, bool) {
	sp := strings.IndexByte(s, ' ')
	if sp < 3 || sp > 7 {
		return time.Time{}, 0, false
	}
	mo := lookupMonth(s[:sp])
	if mo == 0 {
		return time.Time{}, 0, false
	}
	i := sp + 1
	if i < len(s) && s[i] == ' ' {
		i++
	}
	d := 0
	for j := 0; j < 2 && i < len(s) && s[i] >= '0' && s[i] <= '9'; j++ {
		d = d*10 + int(s[i]-'0')
		i++
	}
	if d < 1 || d > 31 || i >= len(s) || s[i] != ' ' {
		return time.Time{}, 0, false
	}
	i++
	h, mi, sec, ok := clock(s, i)
	if !ok {
		return time.Time{}, 0, false
	}
	i += 8
	ns, fn := fraction(s, i)
	i += fn
	y := yearOf(mo, d)
	return time.Date(y, mo, d, h, mi, sec, ns, loc), i, true
}

// accessStamp parses the access-log style "[09/Mar/2021:09:02:05 +0100]"
// of the hosting format.
func (z zoneCache) accessStamp(s string) (time.Time, int, bool) {
	if len(s) < 28 || s[0] != '[' || s[3] != '/' || s[7] != '/' || s[12] != ':' || s[21] != ' ' || s[27] != ']' {
		return time.Time{}, 0, false
	}
	d, ok1 := digits(s, 1, 2)
	mo := lookupMonth(s[4:7])
	y, ok2 := digits(s, 8, 4)
	h, mi, sec, ok3 := clock(s, 13)
	off, _, ok4 := zone(s, 22)
	if !ok1 || !ok2 || !ok3 || !ok4 || mo == 0 {
		return time.Time{}, 0, false
	}
	return time.Date(y, mo, d, h, mi, sec, 0, z.get(off)), 28, true
}

// tai64nStamp parses daemontools' multilog label "@4000000063a1b2c3" +
// 8 hex digits of nanoseconds. The label is TAI; like tai64nlocal it is
// converted by subtracting 2^62 + 10 s (libtai's fixed TAI-UTC offset,
// no leap-second table).
func tai64nStamp(s string) (time.Time, int, bool) {
	if len(s) < 25 || s[0] != '@' {
		return time.Time{}, 0, false
	}
	var secs, nanos uint64
	for i := 1; i < 25; i++ {
		c := s[i]
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return time.Time{}, 0, false
		}
		if i <= 16 {
			secs = secs<<4 | uint64(v)
		} else {
			nanos = nanos<<4 | uint64(v)
		}
	}
	const base = 1<<62 + 10
	if secs < base || nanos >= 1e9 {
		return time.Time{}, 0, false
	}
	return time.Unix(int64(secs-base), int64(nanos)).UTC(), 25, true
}

// epochStamp parses "1065864990.123456" (qmail's splogger and accustamp
// write Unix seconds with a fraction).
func epochStamp(s string) (time.Time, int, bool) {
	i := 0
	var sec int64
	for i < len(s) && i < 12 && s[i] >= '0' && s[i] <= '9' {
		sec = sec*10 + int64(s[i]-'0')
		i++
	}
	if i < 9 || i >= len(s) || s[i] != '.' {
		return time.Time{}, 0, false
	}
	ns, fn := fraction(s, i)
	if fn == 0 {
		return time.Time{}, 0, false
	}
	return time.Unix(sec, int64(ns)).UTC(), i + fn, true
}
