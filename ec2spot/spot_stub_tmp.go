package ec2spot

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"
)

type FallbackOptions struct{}
type FleetSpec struct{}
type fallback struct{}
type launchFailures struct{}
type LaunchFailure struct{}

func newLaunchFailures(hclog.Logger, func() time.Time) *launchFailures { return &launchFailures{} }
func newFallback(*Spot, FallbackOptions) *fallback                     { return &fallback{} }
func restoreFallbackTag(context.Context, *Spot) error                    { return nil }
func (s *Spot) reconcileFleet(context.Context, FleetSpec) error          { return nil }
func (f *launchFailures) observeShortage(bool)                          {}
func (f *launchFailures) due(time.Duration) bool                        { return false }
func (f *launchFailures) check(context.Context, SpotAutoScalingAPI, string) error { return nil }
func (f *launchFailures) hold() (time.Duration, *LaunchFailure)         { return 0, nil }
func (f *fallback) observe(context.Context, *Snapshot, bool)            {}
func (f *fallback) active() bool                                        { return false }
func (f *fallback) restoreOnStop(context.Context)                       {}
func (s *Spot) startConsumer()                                          {}
