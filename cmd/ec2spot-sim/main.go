// Command ec2spot-sim serves the simulated AWS (Auto Scaling, EC2, EC2
// Instance Connect, SQS) on 127.0.0.1 for manual runs of the plugin or of
// gitlab-runner against it. It needs no AWS account and no credentials.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"gitlab.com/ec2spot/fleeting-plugin-ec2spot/integration/awssim"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (loopback only)")
	region := flag.String("region", "us-east-1", "simulated region")
	speed := flag.Float64("speed", 1, "simulated seconds per real second")
	boot := flag.Duration("boot-delay", 30*time.Second, "Pending → InService (simulated)")
	term := flag.Duration("terminate-delay", 20*time.Second, "Terminating → gone (simulated)")
	sshPort := flag.Int("ssh-port", 0, "start an SSH host on every instance's loopback address at this port (0 = none)")
	createGroup := flag.Bool("create-group", false, "create a ready launch template and mixed-policy group")
	groupName := flag.String("group", "ec2spot-runners", "name of the group -create-group makes")
	maxSize := flag.Int("max-size", 10, "MaxSize of the group -create-group makes")
	types := flag.String("instance-types", "t3.micro,t3a.micro,m5.large", "instance types of the group -create-group makes")
	onDemandBase := flag.Int("on-demand-base", 0, "OnDemandBaseCapacity of the group -create-group makes")
	keyName := flag.String("key-name", "", "key pair to put on the group's launch template (created if missing)")
	flag.Parse()

	opts := awssim.Options{
		Addr:           *addr,
		Region:         *region,
		Speed:          *speed,
		BootDelay:      *boot,
		TerminateDelay: *term,
	}
	if *sshPort != 0 {
		opts.SSH = &awssim.SSHOptions{Port: *sshPort}
	}
	sim, err := awssim.Start(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ec2spot-sim:", err)
		os.Exit(1)
	}
	// os.Exit skips deferred calls: every exit closes the simulator
	// (its instances' SSH hosts) itself.
	fail := func(msg ...any) {
		fmt.Fprintln(os.Stderr, msg...)
		sim.Close()
		os.Exit(1)
	}

	if *keyName != "" {
		pem, err := sim.CreateKeyPair(*keyName)
		if err != nil {
			fail("ec2spot-sim: create key pair:", err)
		}
		path := *keyName + ".pem"
		if err := os.WriteFile(path, pem, 0o600); err != nil {
			fail("ec2spot-sim:", err)
		}
		fmt.Printf("key pair %q private key written to %s\n", *keyName, path)
	}
	if *createGroup {
		err := sim.CreateGroup(awssim.GroupSpec{
			Name:          *groupName,
			MaxSize:       *maxSize,
			InstanceTypes: strings.Split(*types, ","),
			OnDemandBase:  *onDemandBase,
			KeyName:       *keyName,
		})
		if err != nil {
			fail("ec2spot-sim: create group:", err)
		}
		fmt.Printf("group %q created (MaxSize %d, spot above %d on-demand)\n", *groupName, *maxSize, *onDemandBase)
	}

	fmt.Print(usage(sim.URL(), *region))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	sim.Close()
}
