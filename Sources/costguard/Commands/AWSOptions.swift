import AWSClients
import ArgumentParser
import CostGuardCore

/// `--region` and `--profile`, shared by every command that talks to AWS.
struct AWSOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The AWS region.",
            discussion:
                "Default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, then the EC2 instance's region.",
            valueName: "region"
        )
    )
    var region: String?

    @Option(
        help: ArgumentHelp(
            "A profile of ~/.aws/config and ~/.aws/credentials (overrides AWS_PROFILE; the environment's keys are then "
                + "ignored).",
            valueName: "name"
        )
    )
    var profile: String?
}
