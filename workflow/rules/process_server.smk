# Local runs: one warm `tunesafe serve` process imports torch and transformers once and every
# job's `tunesafe` command runs as a fork of it (src/tunesafe/server; config key
# process_server). Remote executors and --sdm conda run every job in its own interpreter.
import tunesafe.scheduling
import tunesafe.server

_SERVER = []


onstart:
    if (
        config.get("process_server")
        and workflow.local_exec
        and not workflow.deployment_settings.deployment_method
    ):
        _SERVER.append(tunesafe.server.start("results/logs/process_server.log"))


# both also cancel Snakemake's pending re-selection timers, so the run exits at once
# (tunesafe.scheduling; the workflow profile's max-jobs-per-timespan)
onsuccess:
    tunesafe.server.stop(_SERVER.pop() if _SERVER else None)
    tunesafe.scheduling.cancel_timers()


onerror:
    tunesafe.server.stop(_SERVER.pop() if _SERVER else None)
    tunesafe.scheduling.cancel_timers()
