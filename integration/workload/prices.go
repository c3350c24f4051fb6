package workload

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Prices is USD per instance-hour by instance type and market ("spot",
// "on-demand"). Types it lacks cost the "*" entry of their market.
type Prices map[string]map[string]float64

// DefaultPrices are us-east-1 Linux list prices and typical spot prices
// (the simulator's catalogue), good enough for comparisons.
func DefaultPrices() Prices {
	p := Prices{}
	for _, r := range []struct {
		typ      string
		od, spot float64
	}{
		{"t3.micro", 0.0104, 0.0035}, {"t3.small", 0.0208, 0.0070}, {"t3.medium", 0.0416, 0.0140},
		{"t3.large", 0.0832, 0.0290}, {"t3a.micro", 0.0094, 0.0032}, {"t3a.small", 0.0188, 0.0065},
		{"t3a.medium", 0.0376, 0.0130}, {"m5.large", 0.0960, 0.0370}, {"m5.xlarge", 0.1920, 0.0740},
		{"c5.large", 0.0850, 0.0330}, {"c5.xlarge", 0.1700, 0.0660}, {"t4g.micro", 0.0084, 0.0025},
		{"t4g.small", 0.0168, 0.0050}, {"m6g.large", 0.0770, 0.0300},
		{"*", 0.0960, 0.0370},
	} {
		p.Set(r.typ, "on-demand", r.od)
		p.Set(r.typ, "spot", r.spot)
	}
	return p
}

// Set sets one price.
func (p Prices) Set(instanceType, market string, usd float64) {
	if p[instanceType] == nil {
		p[instanceType] = map[string]float64{}
	}
	p[instanceType][market] = usd
}

// Price of one instance-hour.
func (p Prices) Price(instanceType, market string) float64 {
	if v, ok := p[instanceType][market]; ok {
		return v
	}
	return p["*"][market]
}

// ReadPrices overrides p with CSV rows "instance_type,market,usd_per_hour"
// ('#' comments and a header row allowed).
func (p Prices) ReadPrices(r io.Reader) error {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = 3
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		usd, err := strconv.ParseFloat(strings.TrimSpace(rec[2]), 64)
		if err != nil {
			if line == 1 {
				continue // header
			}
			return fmt.Errorf("prices line %d: %w", line, err)
		}
		market := strings.TrimSpace(rec[1])
		if market != "spot" && market != "on-demand" {
			return fmt.Errorf("prices line %d: market %q is neither spot nor on-demand", line, market)
		}
		p.Set(strings.TrimSpace(rec[0]), market, usd)
	}
}
