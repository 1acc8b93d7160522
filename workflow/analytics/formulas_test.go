package analytics_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bugflow/bugflow/workflow/analytics"
)

func TestShare(t *testing.T) {
	for _, c := range []struct {
		part, total int
		want        float64
	}{
		{1, 3, 33.33},  // 100/3 = 33.333…
		{2, 3, 66.67},  // 200/3 = 66.666…, rounded up
		{1, 8, 12.5},   // exact
		{0, 5, 0},      // none
		{5, 5, 100},    // all
		{3, 0, 0},      // nothing to share
		{1, 200, 0.5},  // 0.5 exactly
		{1, 300, 0.33}, // 0.333…
	} {
		assert.Equal(t, c.want, analytics.Share(c.part, c.total), "%d of %d", c.part, c.total)
	}
}

func TestPercentAndComplianceRate(t *testing.T) {
	assert.Nil(t, analytics.Percent(0, 0), "a rate of nothing is unknown")
	assert.Equal(t, f64(60), analytics.Percent(3, 5))
	assert.Equal(t, f64(0), analytics.Percent(0, 4))

	assert.Nil(t, analytics.ComplianceRate(0, 0), "nothing decided")
	assert.Equal(t, f64(100), analytics.ComplianceRate(4, 0))
	assert.Equal(t, f64(0), analytics.ComplianceRate(0, 4))
	assert.Equal(t, f64(66.67), analytics.ComplianceRate(2, 1)) // 2 / 3
	assert.Equal(t, f64(90), analytics.ComplianceRate(9, 1))    // one breach in ten
}

func TestAverageHours(t *testing.T) {
	assert.Nil(t, analytics.AverageHours(0, 0))
	assert.Equal(t, f64(10), analytics.AverageHours(108000, 3))  // (4 + 24 + 2) h = 108000 s, over 3
	assert.Equal(t, f64(7.67), analytics.AverageHours(82800, 3)) // 23 h over 3 = 7.666…
	assert.Equal(t, f64(0.5), analytics.AverageHours(1800, 1))   // half an hour
	assert.Equal(t, f64(0.01), analytics.AverageHours(36, 1))    // 36 s = 0.01 h
	assert.Equal(t, f64(0), analytics.AverageHours(17, 1))       // 17 s rounds to 0.00 h
}

func TestAverageAgeHours(t *testing.T) {
	assert.Nil(t, analytics.AverageAgeHours(1000, 0, 0))
	// Created at 0 s and 7200 s, now 10800 s: ages 3 h and 1 h, mean 2 h.
	assert.Equal(t, f64(2), analytics.AverageAgeHours(10800, 7200, 2))
	// Ages 74, 51 and 69 h: 194 / 3 = 64.666… h. Creation times as
	// seconds before now = 0: -266400, -183600, -248400.
	assert.Equal(t, f64(64.67), analytics.AverageAgeHours(0, -266400-183600-248400, 3))
}

func TestBacklog(t *testing.T) {
	// Two open at the start; each day adds its created, takes its resolved.
	assert.Equal(t, []int{2, 2, 3, 4, 5}, analytics.Backlog(2, []int{1, 1, 2, 1, 1}, []int{1, 1, 1, 0, 0}))
	// Resolutions of tickets created before the range take it below start.
	assert.Equal(t, []int{3, 0}, analytics.Backlog(5, []int{0, 0}, []int{2, 3}))
	assert.Empty(t, analytics.Backlog(7, nil, nil))
}
