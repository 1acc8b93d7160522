package bugs_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/bugs"
)

func TestAutoSeverity(t *testing.T) {
	tests := []struct {
		source  bugs.Source
		message string
		code    string
		want    bugs.Severity
	}{
		{bugs.SourceAutoServer, "Database is locked", "", bugs.SeverityCritical},
		{bugs.SourceAutoClient, "dial tcp: connection refused", "", bugs.SeverityCritical},
		{bugs.SourceAutoServer, "Internal Server Error", "", bugs.SeverityCritical},
		{bugs.SourceAutoServer, "request failed with status 500", "", bugs.SeverityCritical},
		{bugs.SourceAutoServer, "upstream failed", "500", bugs.SeverityCritical},
		{bugs.SourceAutoServer, "Connection timeout after 30000ms", "", bugs.SeverityHigh},
		{bugs.SourceAutoClient, "Unauthorized", "", bugs.SeverityHigh},
		{bugs.SourceAutoServer, "got 403 from upstream", "", bugs.SeverityHigh},
		{bugs.SourceAutoServer, "Authentication failed", "", bugs.SeverityHigh},
		{bugs.SourceAutoServer, "Validation failed: name", "", bugs.SeverityMedium},
		{bugs.SourceAutoClient, "invalid date", "", bugs.SeverityMedium},
		{bugs.SourceAutoAgent, "tool crashed", "", bugs.SeverityMedium},
		{bugs.SourceAutoClient, "Cannot read property of undefined", "", bugs.SeverityLow},
		{bugs.SourceAutoServer, "something odd", "", bugs.SeverityMedium},
		{bugs.SourceAutoServer, "processed 15000 rows", "", bugs.SeverityMedium},
	}
	for _, tt := range tests {
		t.Run(string(tt.source)+"/"+tt.message, func(t *testing.T) {
			assert.Equal(t, tt.want, bugs.AutoSeverity(tt.source, tt.message, tt.code))
		})
	}
}

func TestAutoTitle(t *testing.T) {
	at := time.Date(2025, 2, 14, 10, 0, 0, 0, time.UTC)
	long := strings.Repeat("é", 150)
	tests := []struct {
		name          string
		source        bugs.Source
		message, code string
		want          string
	}{
		{"first line", bugs.SourceAutoServer, "\n  boom happened  \nat main.go:12", "", "boom happened"},
		{"long line cut", bugs.SourceAutoServer, long, "", strings.Repeat("é", 97) + "..."},
		{"exactly 100 kept", bugs.SourceAutoServer, strings.Repeat("x", 100), "", strings.Repeat("x", 100)},
		{"code", bugs.SourceAutoServer, "", "ETIMEDOUT", "Error ETIMEDOUT"},
		{"nothing", bugs.SourceAutoClient, " ", "", "Client error at 2025-02-14T10:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, bugs.AutoTitle(tt.source, tt.message, tt.code, at))
		})
	}
}

func TestSanitise(t *testing.T) {
	var in any
	require.NoError(t, json.Unmarshal([]byte(`{
		"url": "https://app.example.com",
		"password": "hunter2",
		"apiKey": "k1",
		"API_KEY": "k2",
		"X-Api-Key": "k3",
		"refreshToken": {"nested": "object"},
		"nested": {"db": {"Credentials": ["a"], "host": "db"}, "list": [{"Authorization": "Bearer x"}, {"ok": 1}]},
		"headers": {"Cookie": "s=1", "Accept": "json"},
		"clientSecret": null,
		"keyboard": "kept"
	}`), &in))
	got, err := json.Marshal(bugs.Sanitise(in))
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"url": "https://app.example.com",
		"password": "[REDACTED]",
		"apiKey": "[REDACTED]",
		"API_KEY": "[REDACTED]",
		"X-Api-Key": "[REDACTED]",
		"refreshToken": "[REDACTED]",
		"nested": {"db": {"Credentials": "[REDACTED]", "host": "db"}, "list": [{"Authorization": "[REDACTED]"}, {"ok": 1}]},
		"headers": {"Cookie": "[REDACTED]", "Accept": "json"},
		"clientSecret": "[REDACTED]",
		"keyboard": "kept"
	}`, string(got))
}
