"""Template sets (osTicket's groups): the existing templates become the default set;
the HTML part becomes the one source of each template (a template with only a text part
gets its HTML made from that text, so no content is lost) and the text part is derived
from it from now on."""

import html
import re

import django.db.models.deletion
from django.db import migrations, models

TAG = re.compile(r"(\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\})", re.S)


def _text_to_html(text):
    """Escaped paragraphs and line breaks; template tags are kept as they are."""
    out = []
    for paragraph in re.split(r"\n{2,}", text.replace("\r\n", "\n").strip()):
        parts = TAG.split(paragraph)
        escaped = "".join(p if i % 2 else html.escape(p, quote=False) for i, p in enumerate(parts))
        out.append("<p>" + escaped.replace("\n", "<br>") + "</p>")
    return "".join(out)


def forward(apps, schema_editor):
    from helpdesk.mail.templates import derive_text

    Set = apps.get_model("helpdesk_mail", "EmailTemplateSet")
    EmailTemplate = apps.get_model("helpdesk_mail", "EmailTemplate")
    default, _ = Set.objects.get_or_create(name="Default", defaults={"is_default": True})
    for row in EmailTemplate.objects.all():
        row.template_set = default
        if not row.body_html.strip():
            row.body_html = _text_to_html(row.body_text)
        row.body_text = derive_text(row.body_html)
        row.save(update_fields=["template_set", "body_html", "body_text"])


def backward(apps, schema_editor):
    EmailTemplate = apps.get_model("helpdesk_mail", "EmailTemplate")
    EmailTemplate.objects.exclude(template_set__is_default=True).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('helpdesk_mail', '0009_task_templates'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='emailtemplate',
            options={'ordering': ['template_set', 'code'], 'verbose_name': 'email template', 'verbose_name_plural': 'email templates'},
        ),
        migrations.AlterField(
            model_name='emailtemplate',
            name='body_html',
            field=models.TextField(help_text='The message. The plain-text part is made from it.', verbose_name='HTML body'),
        ),
        migrations.AlterField(
            model_name='emailtemplate',
            name='body_text',
            field=models.TextField(editable=False, help_text='Derived from the HTML body on save.', verbose_name='plain-text body'),
        ),
        migrations.AlterField(
            model_name='emailtemplate',
            name='code',
            field=models.CharField(choices=[('ticket.autoresp', 'New ticket autoresponse (to the client)'), ('message.autoresp', 'New message autoresponse (to the client)'), ('ticket.notice', 'New ticket notice (opened by an agent)'), ('ticket.overlimit', 'Over-limit notice (to the client)'), ('ticket.reply', 'Response to the client'), ('ticket.activity.notice', 'New activity notice (to collaborators)'), ('ticket.alert', 'New ticket alert (to agents)'), ('message.alert', 'New message alert (to agents)'), ('note.alert', 'Internal note alert (to agents)'), ('assigned.alert', 'Assignment alert (to agents)'), ('transfer.alert', 'Transfer alert (to agents)'), ('ticket.overdue', 'Overdue ticket alert (to agents)'), ('task.alert', 'New task alert (to agents)'), ('task.activity.alert', 'New task activity alert (to agents)'), ('task.activity.notice', "New task activity notice (to the task's collaborators, agents only)"), ('task.assignment.alert', 'Task assignment alert (to agents)'), ('task.transfer.alert', 'Task transfer alert (to agents)'), ('task.overdue.alert', 'Overdue task alert (to agents)')], max_length=32, verbose_name='template'),
        ),
        migrations.AlterField(
            model_name='emailtemplate',
            name='subject',
            field=models.CharField(max_length=255, verbose_name='subject'),
        ),
        migrations.AlterField(
            model_name='emailtemplate',
            name='updated_at',
            field=models.DateTimeField(auto_now=True, verbose_name='updated'),
        ),
        migrations.CreateModel(
            name='EmailTemplateSet',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=64, unique=True, verbose_name='name')),
                ('is_default', models.BooleanField(default=False, help_text='Used by departments that pick no set, and for any template a set lacks.', verbose_name='default set')),
                ('notes', models.TextField(blank=True, verbose_name='notes')),
            ],
            options={
                'verbose_name': 'email template set',
                'verbose_name_plural': 'email template sets',
                'ordering': ['-is_default', 'name'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('is_default',), name='mail_one_default_template_set')],
            },
        ),
        migrations.AddField(
            model_name='departmentmailsettings',
            name='template_set',
            field=models.ForeignKey(blank=True, help_text='Empty: the default set.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='helpdesk_mail.emailtemplateset', verbose_name='email template set'),
        ),
        migrations.AddField(
            model_name='emailtemplate',
            name='template_set',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='templates', to='helpdesk_mail.emailtemplateset', verbose_name='template set'),
        ),
        migrations.RunPython(forward, backward),
        migrations.AlterField(
            model_name="emailtemplate",
            name="template_set",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="templates",
                to="helpdesk_mail.emailtemplateset",
                verbose_name="template set",
            ),
        ),
        migrations.AddConstraint(
            model_name='emailtemplate',
            constraint=models.UniqueConstraint(fields=('template_set', 'code'), name='mail_template_once_per_set'),
        ),
    ]
