package awssim

// The simulator's whole surface in one place: every API action by service
// (the SigV4 credential scope names the service, the Action parameter or
// X-Amz-Target header the action) and every control call under /_sim/.
// Start builds both tables once; nothing registers itself.

// apiRoutes returns handlers[service][action].
func apiRoutes() map[string]map[string]handler {
	return map[string]map[string]handler{
		svcAutoScaling: {
			// groups (autoscaling_groups.go, autoscaling_describe.go)
			"CreateAutoScalingGroup":    (*Sim).createAutoScalingGroup,
			"UpdateAutoScalingGroup":    (*Sim).updateAutoScalingGroup,
			"DeleteAutoScalingGroup":    (*Sim).deleteAutoScalingGroup,
			"DescribeAutoScalingGroups": (*Sim).describeAutoScalingGroups,
			"CreateOrUpdateTags":        (*Sim).asgCreateOrUpdateTags,
			"DeleteTags":                (*Sim).asgDeleteTags,
			// capacity and instances (autoscaling_capacity.go, autoscaling_launch.go, autoscaling_standby.go)
			"SetDesiredCapacity":                  (*Sim).setDesiredCapacity,
			"TerminateInstanceInAutoScalingGroup": (*Sim).terminateInstanceInAutoScalingGroup,
			"SetInstanceProtection":               (*Sim).setInstanceProtection,
			"LaunchInstances":                     (*Sim).launchInstances,
			"DescribeAutoScalingInstances":        (*Sim).describeAutoScalingInstances,
			"SetInstanceHealth":                   (*Sim).setInstanceHealth,
			"DetachInstances":                     (*Sim).detachInstances,
			"EnterStandby":                        (*Sim).enterStandby,
			"ExitStandby":                         (*Sim).exitStandby,
			// processes, activities, policies
			"SuspendProcesses":          (*Sim).suspendProcesses,
			"ResumeProcesses":           (*Sim).resumeProcesses,
			"DescribeScalingActivities": (*Sim).describeScalingActivities,
			"PutScalingPolicy":          (*Sim).putScalingPolicy,
			"DescribePolicies":          (*Sim).describePolicies,
			"DeletePolicy":              (*Sim).deletePolicy,
			// lifecycle hooks (autoscaling_hooks_api.go)
			"PutLifecycleHook":               (*Sim).putLifecycleHook,
			"DescribeLifecycleHooks":         (*Sim).describeLifecycleHooks,
			"DeleteLifecycleHook":            (*Sim).deleteLifecycleHook,
			"CompleteLifecycleAction":        (*Sim).completeLifecycleAction,
			"RecordLifecycleActionHeartbeat": (*Sim).recordLifecycleActionHeartbeat,
		},
		svcEC2: ec2DryRun(map[string]handler{
			"DescribeSubnets":                (*Sim).describeSubnets,
			"DescribeAvailabilityZones":      (*Sim).describeAvailabilityZones,
			"DescribeImages":                 (*Sim).describeImages,
			"DescribeInstanceTypes":          (*Sim).describeInstanceTypes,
			"RunInstances":                   (*Sim).runInstances,
			"TerminateInstances":             (*Sim).terminateInstances,
			"DescribeInstances":              (*Sim).describeInstances,
			"DescribeInstanceStatus":         (*Sim).describeInstanceStatus,
			"DescribeSpotInstanceRequests":   (*Sim).describeSpotInstanceRequests,
			"GetPasswordData":                (*Sim).getPasswordData,
			"CreateKeyPair":                  (*Sim).createKeyPair,
			"ImportKeyPair":                  (*Sim).importKeyPair,
			"DescribeKeyPairs":               (*Sim).describeKeyPairs,
			"DeleteKeyPair":                  (*Sim).deleteKeyPair,
			"CreateTags":                     (*Sim).createTags,
			"DeleteTags":                     (*Sim).deleteTags,
			"CreateLaunchTemplate":           (*Sim).createLaunchTemplate,
			"CreateLaunchTemplateVersion":    (*Sim).createLaunchTemplateVersion,
			"DescribeLaunchTemplates":        (*Sim).describeLaunchTemplates,
			"DescribeLaunchTemplateVersions": (*Sim).describeLaunchTemplateVersions,
			"DeleteLaunchTemplate":           (*Sim).deleteLaunchTemplate,
			"ModifyLaunchTemplate":           (*Sim).modifyLaunchTemplate,
		}),
		svcInstanceConnect: {
			"SendSSHPublicKey": (*Sim).sendSSHPublicKey,
		},
		svcSQS: {
			"CreateQueue":             (*Sim).sqsCreateQueue,
			"GetQueueUrl":             (*Sim).sqsGetQueueURL,
			"GetQueueAttributes":      (*Sim).sqsGetQueueAttributes,
			"SetQueueAttributes":      (*Sim).sqsSetQueueAttributes,
			"ReceiveMessage":          (*Sim).sqsReceiveMessage,
			"DeleteMessage":           (*Sim).sqsDeleteMessage,
			"DeleteMessageBatch":      (*Sim).sqsDeleteMessageBatch,
			"ChangeMessageVisibility": (*Sim).sqsChangeMessageVisibility,
			"SendMessage":             (*Sim).sqsSendMessage,
			"PurgeQueue":              (*Sim).sqsPurgeQueue,
			"ListQueues":              (*Sim).sqsListQueues,
			"DeleteQueue":             (*Sim).sqsDeleteQueue,
		},
		svcEvents: {
			"PutRule":               (*Sim).ebPutRule,
			"DescribeRule":          (*Sim).ebDescribeRule,
			"ListRules":             (*Sim).ebListRules,
			"DeleteRule":            (*Sim).ebDeleteRule,
			"PutTargets":            (*Sim).ebPutTargets,
			"ListTargetsByRule":     (*Sim).ebListTargetsByRule,
			"RemoveTargets":         (*Sim).ebRemoveTargets,
			"ListRuleNamesByTarget": (*Sim).ebListRuleNamesByTarget,
		},
	}
}

// ec2DryRun gives every EC2 action DryRun support: a dry run of a
// permitted call fails with DryRunOperation (HTTP 412), as on EC2, which is
// how clients probe IAM permissions.
func ec2DryRun(actions map[string]handler) map[string]handler {
	for name, h := range actions {
		actions[name] = func(s *Sim, r *request) (any, *APIError) {
			if ec2Bool(r.Params, "DryRun") {
				return nil, errf("DryRunOperation", 412, "Request would have succeeded, but DryRun flag is set.")
			}
			return h(s, r)
		}
	}
	return actions
}

// controlRouteTable returns the control calls (control.go,
// events_control.go, readiness_control.go) in match order.
func controlRouteTable() []controlRoute {
	var out []controlRoute
	for _, part := range [][]controlRoute{coreControlRoutes, eventControlRoutes, readinessControlRoutes} {
		out = append(out, part...)
	}
	return out
}
