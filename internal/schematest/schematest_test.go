package schematest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCheckRefuses: the schema is not a rubber stamp — a null list, a
// missing schema field, an unknown status and a wrong type all fail.
func TestCheckRefuses(t *testing.T) {
	for _, doc := range []string{
		`{"schema":"mailprobe.mx/v1","routes":null}`,
		`{"routes":[]}`,
		`{"schema":"mailprobe.blacklist/v1","warnings":[],"results":[{"target":"x","address":"x","list":"l","status":"maybe","codes":[],"meanings":[],"reason":"","error":""}],"summary":{"targets":1,"checks":1,"listed":0,"clean":0,"unknown":1,"verdict":"unknown"}}`,
		`{"schema":"mailprobe.version/v1","module":"m","version":"v","commit":"c","modified":"no","go":"go1.26"}`,
		``,
	} {
		assert.Error(t, Check([]byte(doc)), doc)
	}
	assert.NoError(t, Check([]byte(`{"schema":"mailprobe.mx/v1","routes":[]}`)))
}
