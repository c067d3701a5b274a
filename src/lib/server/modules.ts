/**
 * The app's start-up modules, in order. Each feature that needs to hook into start-up (sockets,
 * jobs, content loaders, demo data) is listed here once.
 */
import { registerDemoStep, registerModule } from './app';
import { seedDemoIncidents } from './demo-incidents';
import { roomPolicy } from './services/incident.service';
import { playbooksModule } from './playbooks/loader';
import { installCollab, setAccessResolver } from './collab/index';
import { notifyModule } from './notify/module';
import { jobsModule } from './jobs/module';

let installed = false;
export function installModules(): void {
	if (installed) return;
	installed = true;
	registerModule(installCollab);
	registerModule(notifyModule);
	registerModule(playbooksModule);
	registerModule(jobsModule);
	setAccessResolver(roomPolicy);
	registerDemoStep(seedDemoIncidents);
	void registerModule;
}
