using JourneyWorker.Channels.Email;
using JourneyWorker.Channels.Push;
using JourneyWorker.Channels.Templates;
using JourneyWorker.Channels.Webhooks;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Channels;

public static class ChannelServiceCollectionExtensions
{
    /// <summary>
    /// Templates and the e-mail and push senders. The implementation is chosen from configuration when
    /// first resolved: SMTP when Email:Smtp:Host is set, else the e-mail pickup folder; FCM when
    /// Push:Fcm:ProjectId is set, else the push pickup folder. Webhooks go out over their own client, whose
    /// connections only reach the hosts and addresses <see cref="WebhookHosts"/> allows.
    /// </summary>
    public static IServiceCollection AddChannels(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<EmailOptions>().BindConfiguration(EmailOptions.Section)
            .PostConfigure<IHostEnvironment>((options, environment) =>
            {
                // Resolved once, so that the start-up check and the sender read the same file.
                if (options.Smtp.HasTrustedCertificate)
                {
                    options.Smtp.TrustedCertificateFile = Path.GetFullPath(options.Smtp.TrustedCertificateFile!, environment.ContentRootPath);
                }
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<EmailOptions>, EmailOptionsValidator>();
        services.AddOptions<PushOptions>().BindConfiguration(PushOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PushOptions>, PushOptionsValidator>();

        services.AddSingleton<TemplateRenderer>();
        services.AddSingleton<MessageIds>();
        services.AddSingleton<EmailSigning>();

        services.AddSingleton<SmtpEmailSender>();
        services.AddSingleton<PickupEmailSender>();
        services.AddSingleton<IEmailSender>(sp => sp.GetRequiredService<IOptions<EmailOptions>>().Value.Smtp.HasHost
            ? sp.GetRequiredService<SmtpEmailSender>()
            : sp.GetRequiredService<PickupEmailSender>());

        services.AddHttpClient(FcmPushSender.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
        services.AddSingleton<FcmPushSender>();
        services.AddSingleton<PickupPushSender>();
        services.AddSingleton<IPushSender>(sp => sp.GetRequiredService<IOptions<PushOptions>>().Value.Fcm.HasProject
            ? sp.GetRequiredService<FcmPushSender>()
            : sp.GetRequiredService<PickupPushSender>());

        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>();
        services.AddSingleton<WebhookHosts>();
        services.AddHttpClient(HttpWebhookCaller.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                // The address check lives where the socket connects; a proxy would connect instead, and a redirect would
                // lead to a host the allow list never saw.
                ConnectCallback = sp.GetRequiredService<WebhookHosts>().ConnectAsync,
                UseProxy = false,
                AllowAutoRedirect = false,
                UseCookies = false,
            })
            // The default handlers log every URL at Information: webhook URLs carry profile data, and calls are many.
            .RemoveAllLoggers();
        services.AddSingleton<IWebhookCaller, HttpWebhookCaller>();
        return services;
    }
}
