return await Hivemind.Volunteer.VolunteerProgram.RunAsync(args);
